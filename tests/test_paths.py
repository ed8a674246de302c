"""Paths and values (issue 10): conditions the code decides walk one arm, undecided ones fork,
arms are never mixed, error paths report nothing of their own, and what a finding needs is named
in its message. Static checks (no model) unless a test says otherwise."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import libcst as cst
import pytest

from freezelint.checking.checker import check_source
from freezelint.model.resolve import Verifier
from freezelint.script.extract import extract_paths
from freezelint.script.extract.branches import _decides_on
from freezelint.script.extract.paths import PATH_LIMIT


def codes(source: str, verifier: Verifier | None = None) -> list[str]:
    text = textwrap.dedent(source)
    return [f"{d.row} {d.code}" for d in check_source(text, "x.py", None, verifier)]


def messages(source: str, verifier: Verifier | None = None) -> list[str]:
    return [d.message for d in check_source(textwrap.dedent(source), "x.py", None, verifier)]


def paths(source: str) -> int:
    roots = extract_paths(cst.parse_module(textwrap.dedent(source)))
    return len(roots[0].paths)


FREEZE_ALL_THEN_ALL = """
import torch, torchvision
model = torchvision.models.resnet18()
{guard}
    model.requires_grad_(False)
model.fc = torch.nn.Linear(512, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
"""


@pytest.mark.parametrize(
    ("prelude", "guard"),
    [
        ("", "if False:"),
        ("FREEZE = False", "if FREEZE:"),
        ("require_grad = True", "if not require_grad:"),
        ('cfg = {"freeze": False}', 'if cfg["freeze"]:'),
        ('cfg = {"arch": "vgg"}', 'if cfg.get("freeze", False):'),
        ("n = 3", "if n * 2 > 10:"),
        ('arch = "resnet18"', 'if arch.startswith("vgg"):'),
        ('arch = "resnet18"', 'if arch in ("vgg11", "vgg16"):'),
    ],
)
def test_a_condition_the_code_decides_walks_one_arm(prelude: str, guard: str) -> None:
    source = prelude + FREEZE_ALL_THEN_ALL.format(guard=guard)
    assert codes(source) == []
    assert paths(source) == 1


def test_an_undecided_condition_forks_and_names_itself() -> None:
    source = FREEZE_ALL_THEN_ALL.format(guard="import sys\nif sys.argv[1] == 'freeze':")
    assert paths(source) == 2
    [message] = messages(source)
    assert message.endswith("(when `sys.argv[1] == 'freeze'`)")


@pytest.mark.parametrize(("test", "expected"), [("args.a and args.b", 3), ("args.a or args.b", 3)])
def test_a_compound_condition_taken_says_what_it_can_of_each_operand(
    test: str, expected: int
) -> None:
    # `a and b` taken holds `a` (a later `if args.a:` walks one arm there) and says nothing
    # of it when not taken (it forks there); `a or b` not taken is `not a`.
    source = f"""
    import argparse, torch, torchvision
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", action="store_true")
    parser.add_argument("--b", action="store_true")
    args = parser.parse_args()
    model = torchvision.models.resnet18()
    if {test}:
        model.requires_grad_(False)
    if args.a:
        model.fc.requires_grad_(False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    """
    assert paths(source) == expected


def test_a_parameter_default_the_call_keeps_decides() -> None:
    source = """
    import torch, torchvision
    def build(freeze=False):
        net = torchvision.models.resnet18()
        if freeze:
            net.requires_grad_(False)
            net.fc.requires_grad_(True)
        return net
    model = build()
    other = build(freeze=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer2 = torch.optim.SGD(other.parameters(), lr=0.1)
    """
    assert codes(source) == ["12 FRZ001"]  # `other`, built with freeze=True


def test_argparse_defaults_leave_conditions_open_both_ways() -> None:
    source = """
    import argparse, torch, torchvision
    parser = argparse.ArgumentParser()
    parser.add_argument("--freeze", action="store_true")
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()
    model = torchvision.models.resnet18()
    if args.freeze:
        model.requires_grad_(False)
        model.fc.requires_grad_(True)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    """
    assert paths(source) == 2
    [message] = messages(source)
    assert message.endswith("(when `args.freeze`)")


def test_exclusive_arms_are_never_mixed() -> None:
    # Mixed, the vgg arm's replacement then the resnet arm's freeze reads as FRZ003.
    source = """
    import sys, torch, torchvision
    if sys.argv[1] == "vgg":
        model = torchvision.models.vgg11()
        model.classifier[6] = torch.nn.Linear(4096, 2)
    else:
        model = torchvision.models.resnet18()
        model.requires_grad_(False)
        model.fc = torch.nn.Linear(512, 2)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    """
    assert codes(source) == []


def test_every_arm_with_the_same_mistake_is_one_finding_without_condition() -> None:
    source = """
    import sys, torch, torchvision
    if sys.argv[1] == "a":
        model = torchvision.models.resnet18()
    elif sys.argv[1] == "b":
        model = torchvision.models.resnet34()
    else:
        model = torchvision.models.resnet50()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    model.fc = torch.nn.Linear(8, 2)
    """
    assert paths(source) == 3
    [message] = messages(source)
    assert "(when" not in message


def test_a_raising_arm_ends_its_path() -> None:
    source = """
    import sys, torch, torchvision
    model = torchvision.models.resnet18()
    if len(sys.argv) < 2:
        raise SystemExit("usage")
    model.requires_grad_(False)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    """
    # The raising path reports nothing of its own; the other one is the script.
    assert codes(source) == ["7 FRZ011"]
    assert "(when" not in messages(source)[0]


def test_an_except_handler_is_an_alternative_and_sees_no_module() -> None:
    source = """
    import torch, torchvision
    def freeze(x):
        try:
            for p in x.parameters():
                p.requires_grad = False
        except AttributeError:
            x.requires_grad = False
    model = torchvision.models.resnet18()
    freeze(model.layer1)
    freeze(model.fc.bias)
    """
    assert codes(source) == []


def test_a_return_in_one_arm_ends_the_helper_on_that_path() -> None:
    source = """
    import sys, torch, torchvision
    def get_model(name):
        if name == "resnet":
            return torchvision.models.resnet18()
        model = torchvision.models.vgg11()
        model.requires_grad_(False)
        return model
    model = get_model(sys.argv[1])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    """
    [message] = messages(source)
    assert message.startswith("optimizer `optimizer` (SGD) is handed only frozen")
    assert message.endswith("""(when not `name == "resnet"`)""")


def test_literal_loops_are_unrolled_and_decide_per_item() -> None:
    source = """
    import torch, torchvision
    model = torchvision.models.resnet18()
    model.requires_grad_(False)
    model.fc = torch.nn.Linear(512, 2)
    optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.1)
    for epoch in range(epochs):
        for phase in ["train", "val"]:
            if phase == "train":
                model.train()
            else:
                model.eval()
    """
    # Checked without the model: no table, no FRZ009, but one path and no join.
    roots = extract_paths(cst.parse_module(textwrap.dedent(source)))
    [path] = roots[0].paths
    kinds = [type(e).__name__ for e in path.timeline.events]
    assert "BranchArm" not in kinds
    assert [e.train for e in path.timeline.events if type(e).__name__ == "ModeSet"] == [
        True,
        False,
    ]


def test_loop_conditions_on_what_changes_per_iteration_are_not_paths() -> None:
    source = """
    import torch, torchvision
    model = torchvision.models.resnet18()
    model.requires_grad_(False)
    model.fc.requires_grad_(True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(epochs):
        if epoch == 5:
            model.layer4.requires_grad_(True)
    """
    assert paths(source) == 1
    assert codes(source) == []  # the unfreeze at epoch 5 does run


def test_constant_containers_changed_in_place_are_forgotten() -> None:
    guard = 'cfg = {"freeze": False}\ncfg["freeze"] = True\nif cfg["freeze"]:'
    source = FREEZE_ALL_THEN_ALL.format(guard=guard)
    assert paths(source) == 2


def test_questions_about_the_model_are_not_paths() -> None:
    source = """
    import torch, timm
    model = timm.create_model("resnet18")
    model.requires_grad_(False)
    if hasattr(model, "get_classifier"):
        model.get_classifier().requires_grad_(True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    """
    assert paths(source) == 1
    assert all(code.endswith("FRZ001") for code in codes(source))


def test_paths_are_bounded() -> None:
    lines = ["import sys, torch, torchvision", "model = torchvision.models.resnet18()"]
    for i in range(10):
        lines += [f"if sys.argv[{i}] == 'x':", f"    model.layer{i % 4 + 1}.requires_grad_(False)"]
    lines.append("optimizer = torch.optim.SGD(model.parameters(), lr=0.1)")
    roots = extract_paths(cst.parse_module("\n".join(lines) + "\n"))
    assert len(roots[0].paths) <= PATH_LIMIT
    assert not roots[0].complete


def test_budget_is_shared_among_an_early_choice_arms(verifier: Verifier) -> None:
    """Past the budget, every arm of the first choice (the architecture) is still a path of its
    own, with later choices joined: the last arm's freeze is found, not joined away by the
    first arm's subtree spending all the paths."""
    lines = [
        "import sys, torch, torchvision",
        "if sys.argv[1] == 'vgg':",
        "    model = torchvision.models.vgg11()",
        "else:",
        "    model = torchvision.models.resnet18()",
        "    if sys.argv[2] == 'freeze':",
        "        model.requires_grad_(False)",
        "        model.fc.requires_grad_(True)",
    ]
    for i in range(8):
        lines += [f"if sys.argv[{i + 3}] == 'x':", f"    print({i})", "    model.eval()"]
    lines += ["optimizer = torch.optim.SGD(model.parameters(), lr=0.1)", "model.train()"]
    source = "\n".join(lines) + "\n"
    roots = extract_paths(cst.parse_module(source))
    assert len(roots[0].paths) <= PATH_LIMIT
    assert not roots[0].complete
    found = codes(source, verifier)
    assert f"{len(lines)} FRZ009" in found
    assert f"{len(lines) - 1} FRZ001" in found


def test_constructor_aliases_are_verified(verifier: Verifier) -> None:
    source = """
    import torch
    import torchvision.models as models
    ARCHS = {"resnet": models.resnet18, "vgg": models.vgg11}
    cfg = {"arch": "resnet", "classes": 5}
    model = ARCHS[cfg["arch"]](pretrained=True, num_classes=cfg["classes"] * 2)
    model.requires_grad_(False)
    net = getattr(models, "resnet34")(num_classes=3)
    net.requires_grad_(False)
    other = models.__dict__["resnet50"]()
    other.requires_grad_(False)
    optimizer = torch.optim.SGD([*model.parameters(), *net.parameters(), *other.parameters()])
    """
    check_source(textwrap.dedent(source), "x.py", None, verifier)
    assert {
        "torchvision:resnet18(num_classes=10)",
        "torchvision:resnet34(num_classes=3)",
        "torchvision:resnet50",
    } <= verifier.verified


ENUMERATE = (
    "for i, p in enumerate(model.parameters()):\n    if {cond}:\n        p.requires_grad = False"
)


@pytest.mark.parametrize(
    ("loop", "frozen"),
    [
        (
            ENUMERATE.format(cond="i < k"),
            10,
        ),
        (
            ENUMERATE.format(cond="i >= k"),
            52,
        ),
        (
            ENUMERATE.format(cond="k > i"),
            10,
        ),
        ("for p in list(model.parameters())[:-k]:\n    p.requires_grad = False", 52),
        ("for p in list(model.parameters())[k:]:\n    p.requires_grad = False", 52),
    ],
)
def test_positions_resolve_with_the_table(loop: str, frozen: int, verifier: Verifier) -> None:
    source = (
        "import torch, torchvision\nk = 10\nmodel = torchvision.models.resnet18()\n"
        f"{loop}\noptimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    )
    # (Position 10 or 52 falls inside a block: FRZ018 reports that too.)
    [message] = [d.message for d in check_source(source, "x.py", {"FRZ001"}, verifier)]
    assert message.startswith(f"{frozen} of 62 tensors")
    assert codes(source) == []  # without the table the positions are unknown


def test_names_computed_from_the_parameter_name_join_the_predicate(verifier: Verifier) -> None:
    source = """
    import torch, timm
    model = timm.create_model("efficientnet_b0", num_classes=3)
    for name, param in model.named_parameters():
        parts = name.split(".")
        is_head = parts[0] == "classifier"
        if not is_head:
            param.requires_grad = False
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    """
    [message] = messages(source, verifier)
    assert message.startswith("211 of 213 tensors")


def test_a_name_computed_twice_stays_unknown(verifier: Verifier) -> None:
    source = """
    import torch, timm
    model = timm.create_model("efficientnet_b0", num_classes=3)
    for name, param in model.named_parameters():
        is_head = name.startswith("classifier")
        if "conv_head" in name:
            is_head = True
        if not is_head:
            param.requires_grad = False
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    """
    assert messages(source, verifier) == []


def _walks_and_paths(
    source: str, monkeypatch: pytest.MonkeyPatch, fresh_forks: bool = False
) -> tuple[int, int, int]:
    """How many times the roots were walked from the start, besides each root's one walk with
    every branch joined; how many runs resumed part way down the module body; and how many
    paths the roots have."""
    from freezelint.script.extract import statements

    walks: list[bool] = []
    resumes: list[int] = []
    walk_root = statements.Extractor.walk_root
    resume = statements.Extractor.resume

    def counted(self, root, globals_):  # type: ignore[no-untyped-def]
        walks.append(self.join_all)
        return walk_root(self, root, globals_)

    def counted_resume(self, point, decisions, *rest):  # type: ignore[no-untyped-def]
        resumes.append(point.index)
        return resume(self, point, decisions, *rest)

    monkeypatch.setattr(statements.Extractor, "walk_root", counted)
    monkeypatch.setattr(statements.Extractor, "resume", counted_resume)
    module = cst.parse_module(textwrap.dedent(source))
    roots = extract_paths(module, fresh_forks=fresh_forks)
    paths = sum(len(r.paths) for r in roots if len(r.paths) > 1)
    return walks.count(False), len(resumes), paths


def _four_flags() -> str:
    flags = "".join(f"parser.add_argument('--f{i}', action='store_true')\n" for i in range(4))
    freezes = "".join(
        f"if args.f{i}:\n    model.layer{i + 1}.requires_grad_(False)\n" for i in range(4)
    )
    return (
        "import argparse, torch, torchvision\nparser = argparse.ArgumentParser()\n"
        f"{flags}args = parser.parse_args()\nmodel = torchvision.models.resnet18()\n"
        f"{freezes}optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    )


def test_each_path_is_walked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Four undecided flags, each freezing another block: 16 paths, each one walk (a run goes
    # on down the first arm of a branch it forks, instead of stopping there to be run again).
    # Each path after the first starts at the `if` of the first flag it does not take the
    # first arm of (`resume.py`): the statements before are not walked again.
    assert _walks_and_paths(_four_flags(), monkeypatch) == (1, 15, 16)


def test_without_resuming_each_path_is_walked_from_the_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _walks_and_paths(_four_flags(), monkeypatch, fresh_forks=True)[1:] == (0, 16)


def test_a_run_resumes_at_the_statement_holding_its_first_other_arm(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A path that takes the other arm of `if args.f2:` first starts at that `if`, whatever
    # arms it takes later; none starts before it.
    from freezelint.script.extract import statements

    starts: list[tuple[int, dict]] = []
    resume = statements.Extractor.resume

    def counted(self, point, decisions, *rest):  # type: ignore[no-untyped-def]
        starts.append((point.index, dict(decisions)))
        return resume(self, point, decisions, *rest)

    monkeypatch.setattr(statements.Extractor, "resume", counted)
    module = cst.parse_module(_four_flags())
    extract_paths(module)
    body = module.body
    for index, decisions in starts:
        first_other = next(key for key, arm in decisions.items() if arm)
        assert first_other[0] == id(body[index])


def test_a_fork_goes_on_from_the_state_before_its_arms_were_tried(tmp_path) -> None:
    # The arms of `if args.small:` are tried first: the first arm's walk imports another file
    # and binds its builder there. The run then goes down that arm again from the state before
    # it was tried, which had read no other file: the builder is read in its own file again
    # (its nested branch forks there), not as a function of the checked file.
    (tmp_path / "nets.py").write_text(
        textwrap.dedent(
            """
            import torch, torchvision

            def build(drop):
                model = torchvision.models.resnet18()
                if drop > 0:
                    model.fc = torch.nn.Sequential(torch.nn.Dropout(drop), torch.nn.Linear(512, 2))
                return model
            """
        )
    )
    main = tmp_path / "train.py"
    main.write_text(
        textwrap.dedent(
            """
            import argparse, torch, torchvision
            from nets import build
            parser = argparse.ArgumentParser()
            parser.add_argument("--small", action="store_true")
            parser.add_argument("--drop", type=float, default=0.0)
            args = parser.parse_args()
            if args.small:
                model = build(args.drop)
            else:
                model = torchvision.models.resnet50()
            model.requires_grad_(False)
            optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
            """
        )
    )
    roots = extract_paths(cst.parse_module(main.read_text()), path=main)
    labels = [[roots[0].labels[k][a] for k, a in p.decisions] for p in roots[0].paths]
    assert labels == [
        ["`args.small`", "`drop > 0`"],
        ["`args.small`", "not `drop > 0`"],
        ["not `args.small`"],
    ]


def test_a_snapshot_puts_back_what_walking_an_arm_bound_in_every_module() -> None:
    # What a tried arm did must be undone before the run goes down the first arm: the
    # walker's heap and events, the objects holding its state (modules reached by two names),
    # and the names, functions and classes of the modules it reads (the checked file's and
    # the imported ones', bound as imports are met).
    from freezelint.script.extract.snapshots import Snapshot
    from freezelint.script.extract.statements import Extractor
    from freezelint.script.imports import ImportTable

    module = cst.parse_module("x = 1\n")
    walker = Extractor(module, ImportTable.of(module))
    walker.here.scope.env["x"] = "before"
    walker.attributes[1] = {"head": "linear"}
    snapshot = Snapshot(walker)
    walker.here.scope.env["x"] = "after"
    walker.here.functions["build"] = cst.parse_statement("def build(): pass")
    walker.attributes[1]["head"] = "identity"
    walker.attributes[2] = {}
    walker.events.append("an event")
    walker.same_module.link((1, ("blocks",)), (2, ("inner",)))
    held = walker.attributes[1]
    snapshot.restore()
    assert walker.here.scope.env == {"x": "before"}
    assert "build" not in walker.here.functions
    assert walker.attributes == {1: {"head": "linear"}} and walker.attributes[1] is held
    assert walker.events == []
    assert walker.same_module._pairs == []


def test_a_snapshot_copies_the_containers_held_among_other_values() -> None:
    # Containers are copied two levels deep; which items are containers is asked of their
    # types, so one among many other values (or a subclass, as the read log's) is still found.
    from freezelint.script.extract.read_log import QuietList
    from freezelint.script.extract.snapshots import _copy, _refill

    inner, quiet = {"a": 1}, QuietList([1])
    held: list = ["event", 3, inner, None, quiet]
    keyed = {"x": "value", "y": inner}
    copies = [(held, _copy(held)), (keyed, _copy(keyed)), ([], _copy([])), ({}, _copy({}))]
    inner["a"] = 2
    list.append(quiet, 2)
    held.append("later")
    keyed["z"] = "later"
    for container, content in copies:
        _refill(container, content)
    assert held == ["event", 3, {"a": 1}, None, [1]] and held[2] is inner and held[4] is quiet
    assert keyed == {"x": "value", "y": {"a": 1}}
    assert _copy(["event", 3])[1] == {} and _copy({"x": 1})[1] == {}


FIXTURE_SCRIPTS = sorted(
    p for p in (Path(__file__).parent.parent / "fixtures").rglob("*.py") if "FRZ000" not in p.parts
)


@pytest.mark.parametrize("script", FIXTURE_SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_going_on_from_a_snapshot_finds_what_starting_again_finds(script: Path) -> None:
    # A run that forks goes on down the first arm from a snapshot of the state before the
    # arms were tried (`snapshots.Snapshot`); starting the run again from the root with that
    # arm fixed (as runs once did) must give the same paths, event for event.
    module = cst.parse_module(script.read_text(encoding="utf-8"))
    ours = extract_paths(module, path=script)
    fresh = extract_paths(module, path=script, fresh_forks=True)
    assert len(ours) == len(fresh)
    for root, again in zip(ours, fresh, strict=True):
        assert (root.labels, root.complete) == (again.labels, again.complete)
        assert [(p.decisions, p.raised) for p in root.paths] == [
            (p.decisions, p.raised) for p in again.paths
        ]
        for path, other in zip(root.paths, again.paths, strict=True):
            assert _canonical(path.timeline.events) == _canonical(other.timeline.events)


def _canonical(events: list) -> list[str]:
    """Events as what they hold: two extractions build some values anew (compared by their
    text), and an event's scope is the walk's own object (numbered by first appearance)."""
    scopes: dict[int, int] = {}
    return [repr(replace(e, scope=scopes.setdefault(e.scope, len(scopes)))) for e in events]


def test_each_try_body_is_one_block_on_every_path() -> None:
    # A `try` body walked as an arm is one list of statements for the whole extraction: its
    # events name the same block on every path, and never the block of another `try` (a list
    # made anew per walk could get the memory, and so the identity, of another's).
    source = textwrap.dedent("""\
        import argparse, torch, torchvision
        args = argparse.ArgumentParser().parse_args()
        model = torchvision.models.resnet18()
        try:
            model.layer1.requires_grad_(False)
        except RuntimeError:
            pass
        try:
            model.layer2.requires_grad_(False)
        except RuntimeError:
            pass
        if args.fc:
            model.fc = torch.nn.Linear(512, 3)
        """)
    (root,) = extract_paths(cst.parse_module(source))
    assert len(root.paths) > 1
    blocks: dict[str, set[int]] = {}
    for path in root.paths:
        for event in path.timeline.events:
            if type(event).__name__ == "RequiresGradSet":
                layer = cst.Module([]).code_for_node(event.node).split(".")[1]
                blocks.setdefault(layer, set()).add(event.block)
    assert {layer: len(ids) for layer, ids in blocks.items()} == {"layer1": 1, "layer2": 1}
    assert blocks["layer1"] != blocks["layer2"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("if i > 0:\n    pass\n", True),
        ("y = 1 if i else 2\n", True),
        ("match i:\n    case 1:\n        pass\n", True),
        ("f(i)\n", True),
        ("f(x=[i, 2])\n", True),
        ("f(i=0)\n", False),
        ("m.blocks[i].train()\n", True),
        ("m.i.train()\n", False),
        ("y = i\n", False),
        ("for j in range(3):\n    if j:\n        g(j)\n", False),
    ],
)
def test_a_loop_decides_on_its_variable_where_it_is_read(body: str, expected: bool) -> None:
    block = cst.parse_module(f"for i in items:\n{textwrap.indent(body, '    ')}").body[0].body
    assert _decides_on(block, "i") is expected
