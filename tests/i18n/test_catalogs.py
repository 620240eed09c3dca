"""The shipped catalogs: the committed .mo says exactly what the .po says, every message
is translated, and each translation keeps its placeholders."""

import gettext
import io
import re
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import compile_messages  # noqa: E402

PO = ROOT / "locale" / "es" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdr]")


def test_every_shipped_language_has_a_catalog():
    languages = {code for code, _name in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
    assert languages == {"es"}
    assert [po.parent.parent.name for po in compile_messages.po_files()] == ["es"]


@pytest.mark.parametrize("po", compile_messages.po_files(), ids=lambda p: p.parent.parent.name)
def test_the_committed_mo_matches_the_po(po):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run python scripts/compile_messages.py (or manage.py compilemessages)"
    assert compile_messages.is_compiled(po.read_text(encoding="utf-8"), mo.read_bytes()), (
        f"{mo} is stale: run python scripts/compile_messages.py (or manage.py compilemessages)"
    )


def test_every_message_is_translated_and_keeps_its_placeholders():
    text = PO.read_text(encoding="utf-8")
    catalog = compile_messages.parse_po(text)  # leaves out untranslated and fuzzy entries
    assert "#, fuzzy" not in text
    assert len(catalog) == text.count("\nmsgid "), "an entry is untranslated"
    for key, value in catalog.items():
        originals, translations = key.split("\0"), value.split("\0")
        for translated in translations:
            # Every form of a plural keeps the plural's placeholders (the singular may drop the count).
            assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(originals[-1])), (key, translated)


def test_django_uses_the_catalog():
    with translation.override("es"):
        assert translation.gettext("The slot is full.") == "La franja horaria está completa."
        assert translation.ngettext(
            "%(refunded)s credit went back to your balance.", "%(refunded)s credits went back to your balance.", 3
        ) == ("Se han devuelto %(refunded)s créditos a tu saldo.")


SAMPLE = r"""# a comment
msgid ""
msgstr ""
"Language: xx\n"
"Content-Type: text/plain; charset=UTF-8\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

#: somewhere.py:1
msgid "Hello"
msgstr "Hola"

#, python-format
msgid ""
"Two\n"
"lines with \"quotes\" and %(name)s"
msgstr ""
"Dos\n"
"líneas con \"comillas\" y %(name)s"

msgctxt "month"
msgid "May"
msgstr "Mayo"

msgid "%(n)s apple"
msgid_plural "%(n)s apples"
msgstr[0] "%(n)s manzana"
msgstr[1] "%(n)s manzanas"

#, fuzzy
msgid "Unsure"
msgstr "Inseguro"

msgid "Untranslated"
msgstr ""

#~ msgid "Gone"
#~ msgstr "Ido"
"""


def test_the_pure_python_compiler_writes_what_gettext_reads():
    catalog = compile_messages.parse_po(SAMPLE)
    assert set(catalog) == {
        "",
        "Hello",
        'Two\nlines with "quotes" and %(name)s',
        "month\x04May",
        "%(n)s apple\0%(n)s apples",
    }
    translations = gettext.GNUTranslations(io.BytesIO(compile_messages.compile_mo(catalog)))
    assert translations.gettext("Hello") == "Hola"
    assert translations.gettext('Two\nlines with "quotes" and %(name)s') == 'Dos\nlíneas con "comillas" y %(name)s'
    assert translations.pgettext("month", "May") == "Mayo"
    assert translations.ngettext("%(n)s apple", "%(n)s apples", 1) == "%(n)s manzana"
    assert translations.ngettext("%(n)s apple", "%(n)s apples", 5) == "%(n)s manzanas"
    assert translations.gettext("Unsure") == "Unsure"  # fuzzy entries are not compiled
    assert translations.gettext("Untranslated") == "Untranslated"
    assert translations.gettext("Gone") == "Gone"


def test_a_changed_po_makes_the_mo_stale():
    text = PO.read_text(encoding="utf-8")
    mo = PO.with_suffix(".mo").read_bytes()
    changed = text.replace('msgstr "La franja horaria está completa."', 'msgstr "Completa."')
    assert changed != text
    assert not compile_messages.is_compiled(changed, mo)
