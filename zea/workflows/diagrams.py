"""State diagrams drawn from the FSM definitions themselves, as small deterministic SVGs.

No Graphviz needed (the platform must not depend on a system package to regenerate its
docs): states are laid out in columns by their distance from the initial state;
transitions to a later column are straight arrows, the others curve underneath.
The same input always gives the same bytes, so a test can tell a stale diagram.
"""

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from django.conf import settings

from zea.workflows.registry import workflow_types

DOCS_DIR = Path(settings.BASE_DIR) / "docs" / "diagrams"

COLUMN_GAP = 110
ROW_GAP = 36
NODE_HEIGHT = 36
CHAR_WIDTH = 7.6  # 13px sans-serif, close enough to size boxes without a font engine
MARGIN = 24
START_RADIUS = 7


@dataclass(frozen=True)
class Edge:
    source: str  # "" is the start marker
    target: str
    name: str


@dataclass
class Node:
    state: str
    x: float = 0
    y: float = 0
    width: float = 0

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def cy(self) -> float:
        return self.y + NODE_HEIGHT / 2


def states_of(model) -> list[str]:
    field = model._meta.get_field("state")
    return [str(value) for value, _ in field.choices]


def edges_of(model) -> list[Edge]:
    """Every transition of the model's `state` field, `*`/`+` sources expanded, plus `start`."""
    states = states_of(model)
    field = model._meta.get_field("state")
    found = {Edge("", str(model.initial_state), "start")}
    for transition in field.get_all_transitions(model):
        if transition.target is None:
            continue
        target = str(transition.target)
        if transition.source == "*":
            sources = states
        elif transition.source == "+":
            sources = [s for s in states if s != target]
        else:
            sources = [str(transition.source)]
        found.update(Edge(source, target, transition.name) for source in sources)
    order = {state: n for n, state in enumerate(["", *states])}
    return sorted(found, key=lambda e: (order.get(e.source, 99), order.get(e.target, 99), e.name))


def _ranks(states: list[str], edges: list[Edge], initial: str) -> dict[str, int]:
    """Breadth-first distance from the initial state; unreachable states go last."""
    rank = {initial: 0}
    frontier = [initial]
    while frontier:
        following = []
        for state in frontier:
            for edge in edges:
                if edge.source == state and edge.target not in rank:
                    rank[edge.target] = rank[state] + 1
                    following.append(edge.target)
        frontier = following
    last = max(rank.values()) + 1
    return {state: rank.get(state, last) for state in states}


def _layout(model) -> tuple[dict[str, Node], float, float]:
    states = states_of(model)
    edges = edges_of(model)
    ranks = _ranks(states, edges, str(model.initial_state))
    columns: dict[int, list[str]] = {}
    for state in states:
        columns.setdefault(ranks[state], []).append(state)
    tallest = max(len(column) for column in columns.values())
    height = tallest * NODE_HEIGHT + (tallest - 1) * ROW_GAP
    nodes, x = {}, MARGIN + 2 * START_RADIUS + 40
    for rank in sorted(columns):
        column = columns[rank]
        width = max(len(state) * CHAR_WIDTH + 28 for state in column)
        used = len(column) * NODE_HEIGHT + (len(column) - 1) * ROW_GAP
        y = MARGIN + (height - used) / 2
        for state in column:
            nodes[state] = Node(state, x=x, y=y, width=width)
            y += NODE_HEIGHT + ROW_GAP
        x += width + COLUMN_GAP
    return nodes, x - COLUMN_GAP + MARGIN, MARGIN + height


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def render(model) -> str:
    """The SVG of one workflow model."""
    edges = edges_of(model)
    nodes, width, height = _layout(model)
    finals = {str(state) for state in model.final_states}
    columns: dict[float, list[str]] = {}
    for node in nodes.values():
        columns.setdefault(node.x, []).append(node.state)
    side = [e for e in edges if e.source and e.source != e.target and nodes[e.target].x == nodes[e.source].x]
    back = [e for e in edges if e.source and nodes[e.target].x < nodes[e.source].x]
    # A transition back leaves the top of a column's first state (over the graph) and the
    # bottom of the others (under it), so its curve never crosses its own column.
    above = [e for e in back if columns[nodes[e.source].x][0] == e.source]
    below = [e for e in back if e not in above]
    top = 34 * len(above) + (8 if above else 0)
    for node in nodes.values():
        node.y += top
    width += 40 if side else 0
    total_height = top + height + MARGIN + 34 * len(below) + (8 if below else 0)
    initial = nodes[str(model.initial_state)]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(width)}" height="{_n(total_height)}" '
        f'viewBox="0 0 {_n(width)} {_n(total_height)}" font-family="Helvetica, Arial, sans-serif" font-size="13" '
        f'role="img" aria-label="{escape(model.workflow_type)} workflow states">',
        f"<title>{escape(model.workflow_type)} workflow: {escape(model.__name__)}.state</title>",
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='8' markerHeight='8' "
        "orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#444'/></marker></defs>",
        '<rect width="100%" height="100%" fill="#fff"/>',
    ]
    # The start marker and its arrow into the initial state.
    sx, sy = MARGIN + START_RADIUS, initial.cy
    out.append(f'<circle cx="{_n(sx)}" cy="{_n(sy)}" r="{START_RADIUS}" fill="#222"/>')
    out.append(_line(sx + START_RADIUS, sy, initial.x, initial.cy))
    out.append(_label((sx + initial.x) / 2, sy - 6, "start"))
    # Forward transitions: straight arrows between columns.
    for edge in edges:
        if not edge.source or edge in side or edge in back:
            continue
        a, b = nodes[edge.source], nodes[edge.target]
        x1, y1, x2, y2 = a.x + a.width, a.cy, b.x, b.cy
        out.append(_line(x1, y1, x2, y2))
        out.append(_label((x1 + x2) / 2, (y1 + y2) / 2 - 6, edge.name))
    for lane, edge in enumerate(above):
        a, b = nodes[edge.source], nodes[edge.target]
        y = top - 8 - 34 * lane
        out.append(_curve(a.cx + 8, a.y, b.cx - 8, b.y, y))
        out.append(_label((a.cx + b.cx) / 2, y + 12, edge.name))
    for lane, edge in enumerate(below):
        a, b = nodes[edge.source], nodes[edge.target]
        y = top + height + MARGIN + 8 + 34 * lane
        out.append(_curve(a.cx + 8, a.y + NODE_HEIGHT, b.cx - 8, b.y + NODE_HEIGHT, y))
        out.append(_label((a.cx + b.cx) / 2, y - 4, edge.name))
    for edge in side:  # within a column: an arc on its right
        a, b = nodes[edge.source], nodes[edge.target]
        x = max(a.x + a.width, b.x + b.width)
        out.append(
            f'<path d="M{_n(a.x + a.width)},{_n(a.cy)} C{_n(x + 40)},{_n(a.cy)} {_n(x + 40)},{_n(b.cy)} '
            f'{_n(b.x + b.width)},{_n(b.cy)}" fill="none" stroke="#444" stroke-width="1.3" marker-end="url(#arrow)"/>'
        )
        out.append(
            f'<text x="{_n(x + 34)}" y="{_n((a.cy + b.cy) / 2 + 4)}" text-anchor="start" font-size="11" '
            f'fill="#245">{escape(edge.name)}</text>'
        )
    for node in nodes.values():
        final = node.state in finals
        fill = "#e8f4ea" if final else "#eef2fb"
        out.append(
            f'<rect x="{_n(node.x)}" y="{_n(node.y)}" width="{_n(node.width)}" height="{NODE_HEIGHT}" rx="10" '
            f'fill="{fill}" stroke="#334" stroke-width="1.3"/>'
        )
        if final:  # final states get a double border, as in UML
            out.append(
                f'<rect x="{_n(node.x + 3)}" y="{_n(node.y + 3)}" width="{_n(node.width - 6)}" '
                f'height="{NODE_HEIGHT - 6}" rx="8" fill="none" stroke="#334" stroke-width="0.8"/>'
            )
        out.append(f'<text x="{_n(node.cx)}" y="{_n(node.cy + 4.5)}" text-anchor="middle">{escape(node.state)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _curve(x1, y1, x2, y2, y) -> str:
    return (
        f'<path d="M{_n(x1)},{_n(y1)} C{_n(x1)},{_n(y)} {_n(x2)},{_n(y)} {_n(x2)},{_n(y2)}" fill="none" '
        f'stroke="#444" stroke-width="1.3" marker-end="url(#arrow)"/>'
    )


def _line(x1, y1, x2, y2) -> str:
    return (
        f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" stroke="#444" stroke-width="1.3" '
        f'marker-end="url(#arrow)"/>'
    )


def _label(x, y, text) -> str:
    return f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="middle" font-size="11" fill="#245">{escape(text)}</text>'


def path_for(workflow_type: str) -> Path:
    return DOCS_DIR / f"{workflow_type}.svg"


def all_diagrams() -> dict[str, str]:
    """workflow type -> SVG text, for every registered workflow."""
    return {workflow_type: render(model) for workflow_type, model in workflow_types().items()}


def stale() -> list[Path]:
    """Checked-in diagrams that differ from what the FSM definitions give now (or are missing)."""
    return [
        path_for(workflow_type)
        for workflow_type, svg in all_diagrams().items()
        if not path_for(workflow_type).exists() or path_for(workflow_type).read_text() != svg
    ]


def write_all() -> list[Path]:
    """Regenerate every diagram under docs/diagrams/; return the files that changed."""
    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    changed = []
    for workflow_type, svg in all_diagrams().items():
        path = path_for(workflow_type)
        if not path.exists() or path.read_text() != svg:
            path.write_text(svg)
            changed.append(path)
    return changed
