"""Compile locale/*/LC_MESSAGES/*.po into .mo files without GNU gettext.

`manage.py compilemessages` needs GNU msgfmt; this does the same job in plain Python
(the GNU .mo format: https://www.gnu.org/software/gettext/manual/html_node/MO-Files.html)
so a machine without gettext can still build the catalogs. The .mo files are committed;
tests/i18n checks that they say what the .po files say.

    python scripts/compile_messages.py          # (re)write every .mo
    python scripts/compile_messages.py --check  # exit 1 if a .mo is missing or stale
"""

import ast
import gettext
import io
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"


def parse_po(text: str) -> dict[str, str]:
    """The catalog of a .po file as .mo keys and values: `msgctxt\\x04msgid` for context,
    `msgid\\0msgid_plural` -> the plural forms joined by \\0. Fuzzy and untranslated
    entries are left out, as msgfmt does; the header (msgid "") is kept."""
    catalog: dict[str, str] = {}
    entry: dict = {}
    fuzzy = False
    field = None

    def flush():
        nonlocal entry, fuzzy, field
        if "msgid" in entry:
            msgid = entry["msgid"]
            if "msgid_plural" in entry:
                forms = [entry["msgstr"][n] for n in sorted(entry["msgstr"])]
                key, value, translated = f"{msgid}\0{entry['msgid_plural']}", "\0".join(forms), all(forms)
            else:
                key, value = msgid, entry.get("msgstr", "")
                translated = bool(value)
            if "msgctxt" in entry:
                key = f"{entry['msgctxt']}\x04{key}"
            if translated and (not fuzzy or msgid == ""):
                catalog[key] = value
        entry, fuzzy, field = {}, False, None

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#~"):  # blank, or an obsolete entry
            continue
        keyword, _, rest = line.partition(" ")
        # A comment, msgctxt or msgid after a msgstr starts the next entry.
        if (line.startswith("#") or keyword in ("msgctxt", "msgid")) and "msgstr" in entry:
            flush()
        if line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
        elif line.startswith('"'):
            if field is None:
                raise ValueError(f"line {number}: a string outside an entry")
            if isinstance(field, int):
                entry["msgstr"][field] += _unquote(line, number)
            else:
                entry[field] += _unquote(line, number)
        elif keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr"):
            entry[keyword], field = _unquote(rest, number), keyword
        elif keyword.startswith("msgstr[") and keyword.endswith("]"):
            field = int(keyword[7:-1])
            entry.setdefault("msgstr", {})[field] = _unquote(rest, number)
        else:
            raise ValueError(f"line {number}: cannot parse {raw!r}")
    flush()
    return catalog


def _unquote(token: str, number: int) -> str:
    token = token.strip()
    if not (len(token) >= 2 and token[0] == token[-1] == '"'):
        raise ValueError(f"line {number}: expected a quoted string, got {token!r}")
    return ast.literal_eval(token)  # C-style escapes (\n, \t, \", \\) are Python's too


def compile_mo(catalog: dict[str, str]) -> bytes:
    """A little-endian GNU .mo file (revision 0, no hash table) for `catalog`."""
    keys = sorted(catalog, key=lambda k: k.encode("utf-8"))
    ids = [k.encode("utf-8") for k in keys]
    strs = [catalog[k].encode("utf-8") for k in keys]
    header_size = 7 * 4
    originals_at = header_size
    translations_at = originals_at + 8 * len(keys)
    data_at = translations_at + 8 * len(keys)
    data = io.BytesIO()
    originals, translations = [], []
    for table, values in ((originals, ids), (translations, strs)):
        for value in values:
            table.append((len(value), data_at + data.tell()))
            data.write(value + b"\0")
    out = io.BytesIO()
    out.write(struct.pack("<7I", 0x950412DE, 0, len(keys), originals_at, translations_at, 0, data_at))
    for length, offset in originals + translations:
        out.write(struct.pack("<2I", length, offset))
    out.write(data.getvalue())
    return out.getvalue()


def read_mo(content: bytes) -> dict[str, str]:
    """What gettext itself reads from a .mo (keys as in parse_po, plural forms split)."""
    catalog = dict(gettext.GNUTranslations(io.BytesIO(content))._catalog)
    # GNU msgfmt drops this header line; it says nothing about the translations.
    header = catalog.get("", "")
    catalog[""] = "".join(line for line in header.splitlines(True) if not line.startswith("POT-Creation-Date:"))
    return catalog


def is_compiled(po_text: str, mo_content: bytes) -> bool:
    """Whether a .mo (from this script or GNU msgfmt) holds exactly what the .po says."""
    return read_mo(mo_content) == read_mo(compile_mo(parse_po(po_text)))


def po_files(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for po in po_files():
        mo = po.with_suffix(".mo")
        text = po.read_text(encoding="utf-8")
        if check:
            if not mo.exists() or not is_compiled(text, mo.read_bytes()):
                stale.append(mo)
            continue
        catalog = parse_po(text)
        mo.write_bytes(compile_mo(catalog))
        print(f"compiled {po.relative_to(ROOT)} ({len(catalog) - ('' in catalog)} messages)")
    for mo in stale:
        print(f"stale: {mo.relative_to(ROOT)} (run python scripts/compile_messages.py)", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
