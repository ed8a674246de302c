"""A root's walk with every branch joined stops once its paths are sure to be explored
(`joined_walk`): the paths must be exactly those of a walk run to its end, and what the rest of
that walk would add to the file's facts (functions it inlines, a learning rate set by hand) must
still be added."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from freezelint.script.extract import paths
from freezelint.script.extract.joined_walk import FileNames, reads_no_project_file
from freezelint.script.extract.paths import extract_paths
from freezelint.script.extract.statements import Extractor
from freezelint.script.imports import ImportTable
from tests.paths_equal import same_paths

FIXTURES = Path(__file__).parent.parent / "fixtures"
HEAD = """\
import argparse, torch, torchvision
parser = argparse.ArgumentParser()
parser.add_argument('--a', action='store_true')
args = parser.parse_args()
model = torchvision.models.resnet18()
model.layer1.requires_grad_(False)
if args.a:
    model.fc = torch.nn.Linear(512, 10)
else:
    model.fc = torch.nn.Linear(512, 5)
"""


def _stops_and_rests(source: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, int]:
    """How many joined walks stopped early while extracting `source`, and how many rests
    were walked after all."""
    counts = [0, 0]
    explore, may_add = paths.explore, FileNames.may_add

    def counted_explore(run, refuel=None, product=False, rest=None):  # type: ignore[no-untyped-def]
        def counted_run(decisions, join_all, budget):  # type: ignore[no-untyped-def]
            ran = run(decisions, join_all, budget)
            counts[0] += ran.decided
            return ran

        return explore(counted_run, refuel, product, rest)

    def counted_may_add(self, inlined, lr_scheduled):  # type: ignore[no-untyped-def]
        found = may_add(self, inlined, lr_scheduled)
        counts[1] += found
        return found

    monkeypatch.setattr(paths, "explore", counted_explore)
    monkeypatch.setattr(FileNames, "may_add", counted_may_add)
    extract_paths(cst.parse_module(source))
    return counts[0], counts[1]


TAILS = {
    "nothing after": "",
    "a helper called after the stop": (
        "def freeze_more(m):\n    m.layer2.requires_grad_(False)\n\nfreeze_more(model)\n"
    ),
    "a learning rate set by hand after": (
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "for group in optimizer.param_groups:\n    group['lr'] = 0.0\n"
    ),
}
# What the paths do not do but the file's text could (a walk of the rest is then needed).
COULD_ADD = {
    "a helper only named after": (
        "def freeze_more(m):\n    m.layer2.requires_grad_(False)\n\nhooks = [freeze_more]\n"
    ),
    "a learning rate set in a helper nobody calls": (
        "def warm_up(opt):\n    for group in opt.param_groups:\n        group['lr'] = 0.0\n"
    ),
    "a scheduler built in a helper nobody calls": (
        "def schedule(opt):\n"
        "    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=9)\n"
    ),
    "a class built after": (
        "class Head(torch.nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.fc = torch.nn.Linear(4, 2)\n"
        "        self.fc.requires_grad_(False)\n\n"
        "head = Head()\n"
    ),
}
TAILS.update(COULD_ADD)


@pytest.mark.parametrize("tail", TAILS.values(), ids=TAILS.keys())
def test_a_walk_stopped_early_gives_the_paths_of_one_walked_to_the_end(tail: str) -> None:
    same_paths(HEAD + tail, early=False)


FIXTURE_SCRIPTS = sorted(p for p in FIXTURES.rglob("*.py") if "FRZ000" not in p.parts)


@pytest.mark.parametrize("script", FIXTURE_SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stopping_early_changes_no_fixture_path(script: Path) -> None:
    same_paths(script.read_text(encoding="utf-8"), script, early=False)


def test_the_walk_stops_once_it_joined_a_fork_after_a_freeze(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The freeze comes before the `if args.a`: once the walk has joined that branch, its paths
    # are explored whatever follows, so the optimizer after is not walked in join mode.
    tail = "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
    assert _stops_and_rests(HEAD + tail, monkeypatch) == (1, 0)


@pytest.mark.parametrize("tail", COULD_ADD.values(), ids=COULD_ADD.keys())
def test_a_rest_that_could_add_a_fact_is_walked(tail: str, monkeypatch: pytest.MonkeyPatch) -> None:
    stopped, rests = _stops_and_rests(HEAD + tail, monkeypatch)
    assert stopped >= 1
    assert rests >= 1


def test_a_rest_the_paths_cover_is_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every path calls the helper and sets the learning rate: nothing is left to add.
    tail = TAILS["a helper called after the stop"] + TAILS["a learning rate set by hand after"]
    assert _stops_and_rests(HEAD + tail, monkeypatch) == (1, 0)


def test_a_learning_rate_set_after_the_stop_is_still_seen(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = HEAD + TAILS["a learning rate set by hand after"]
    roots = extract_paths(cst.parse_module(source))
    assert all(p.timeline.lr_scheduled for root in roots for p in root.paths)


def test_file_names_say_what_a_rest_could_add() -> None:
    module = cst.parse_module(
        textwrap.dedent("""\
            def used(m): pass
            def unused(m): pass
            class Built:
                def freeze(self): pass
            class NeverBuilt:
                def freeze(self): pass
            used(1)
            b = Built()
            """)
    )
    names = FileNames(module)
    everything = {"used", "Built.__init__", "Built.configure_optimizers", "Built.freeze"}
    assert not names.may_add(everything, lr_scheduled=False)
    assert names.may_add(everything - {"used"}, lr_scheduled=False)
    assert names.may_add(everything - {"Built.freeze"}, lr_scheduled=False)
    lr = FileNames(cst.parse_module("g['lr'] = 0\n"))
    assert lr.may_add(set(), lr_scheduled=False)
    assert not lr.may_add(set(), lr_scheduled=True)
    assert FileNames(cst.parse_module("x = CyclicLR\n")).may_add(set(), lr_scheduled=False)
    assert not FileNames(cst.parse_module("g['lrx'] = 0\n")).may_add(set(), lr_scheduled=False)


@pytest.mark.parametrize("script", FIXTURE_SCRIPTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_file_names_read_from_the_text_count_at_least_what_the_tree_holds(script: Path) -> None:
    # Read from the text, names and learning-rate keys may be more (comments, strings), never
    # fewer: `may_add` can only say yes more often than from the tree.
    text = script.read_text(encoding="utf-8")
    module = cst.parse_module(text)
    tree, read = FileNames(module), FileNames(module, text)
    tree_counts, read_counts = tree._read(), read._read()
    assert all(read_counts[name] >= count for name, count in tree_counts.items())
    assert read._lr_key or not tree._lr_key
    for inlined in (set(), {"main", "train"}):
        for lr_scheduled in (False, True):
            if tree.may_add(inlined, lr_scheduled):
                assert read.may_add(inlined, lr_scheduled)


def test_file_names_read_the_tree_where_the_text_could_hide_a_name_or_key() -> None:
    # An escape can spell a key (`"l\x72"` is "lr"), and a name may hold characters that are
    # no word character (combining marks): such texts are read from the tree.
    for text in ("g['l\\x72'] = 0\n", "na\u0301me = 1\nna\u0301me = 2\n"):
        names = FileNames(cst.parse_module(text), text)
        assert names._text is None
    escaped = "g['l\\x72'] = 0\n"
    assert FileNames(cst.parse_module(escaped), escaped).may_add(set(), lr_scheduled=False)
    plain = "g['lr'] = 0  # and lr=0 elsewhere\n"
    names = FileNames(cst.parse_module(plain), plain)
    assert names._text is not None and names.may_add(set(), lr_scheduled=False)
    assert not FileNames(cst.parse_module("x = 1  # 'lrx'\n"), "x = 1  # 'lrx'\n").may_add(
        set(), lr_scheduled=False
    )


def test_a_file_that_reads_the_project_does_not_stop_early(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def freeze(m):\n    m.requires_grad_(False)\n")
    script = tmp_path / "train.py"
    source = "import torch, argparse\nfrom helpers import freeze\n"
    script.write_text(source)
    table = ImportTable.of(cst.parse_module(source))
    assert not reads_no_project_file(table, script)
    assert reads_no_project_file(table, None)
    library = ImportTable.of(cst.parse_module("import torch, argparse\nimport timm\n"))
    assert reads_no_project_file(library, script)


def test_only_a_joined_walk_may_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    # A path's own run (every branch not joined) never stops early, whatever it holds.
    seen: list[tuple[bool, bool]] = []
    walk_root = Extractor.walk_root

    def noted(self, root, globals_):  # type: ignore[no-untyped-def]
        seen.append((self.join_all, self.stop_when_decided))
        return walk_root(self, root, globals_)

    monkeypatch.setattr(Extractor, "walk_root", noted)
    roots = extract_paths(cst.parse_module(HEAD))
    assert len(roots[0].paths) == 2
    assert (True, True) in seen
    assert all(joined for joined, stops in seen if stops)


def test_a_root_with_nothing_a_rule_reads_stays_one_path() -> None:
    # A library's builder: the branch matters (another model), but nothing is frozen or
    # optimized, so the joined walk runs to its end and is the root's one path.
    source = textwrap.dedent("""\
        import torchvision

        def build(name):
            if name == "a":
                model = torchvision.models.resnet18()
            else:
                model = torchvision.models.resnet50()
            model.eval()
            return model
        """)
    roots = extract_paths(cst.parse_module(source))
    assert [len(root.paths) for root in roots] == [1, 1]
    same_paths(source, early=False)
