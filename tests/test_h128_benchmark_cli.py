"""Every benchmark script's command line works as a user types it: ``--help`` exits 0 with a
usage line and starts no work, a bad choice is a one-line error with exit 2 (no traceback), and
every script that writes a results file takes an option for where (so a run with other rows,
data sets or seeds need not overwrite a committed file under benchmarks/results/).

All scripts run in one child process (torch and the library are imported once, ~10 s in all on
2 cores); each script gets its own alarm, so one that starts a benchmark instead of parsing is
reported by name.  Nothing under benchmarks/results/ is written: no case gets past its parser.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py") if p.stem != "common")

# the child: run each (script, argv) as ``__main__`` in turn, record exit code, output, and
# whether a traceback happened; an alarm stops a script that went past its parser
DRIVER = r'''
import contextlib, io, json, runpy, signal, sys, traceback
bench, cases = sys.argv[1], json.loads(sys.argv[2])
sys.path.insert(0, bench)
class Late(BaseException):
    pass
def late(*_):
    raise Late()
signal.signal(signal.SIGALRM, late)
out = []
for name, argv in cases:
    buf_out, buf_err = io.StringIO(), io.StringIO()
    code, tb = None, ""
    sys.argv = [f"{bench}/{name}.py", *argv]
    signal.alarm(20)
    try:
        with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
            runpy.run_path(f"{bench}/{name}.py", run_name="__main__")
        code = "returned"
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) or e.code is None else f"message: {e.code}"
    except Late:
        code, tb = "timeout", "still running after 20 s: it did not stop at its parser"
    except BaseException:
        code, tb = "traceback", traceback.format_exc()
    finally:
        signal.alarm(0)
    out.append({"name": name, "argv": argv, "code": code, "stdout": buf_out.getvalue(),
                "stderr": buf_err.getvalue(), "traceback": tb})
print("H128" + json.dumps(out))
'''


def run_cases(cases: list[tuple[str, list[str]]]) -> dict:
    proc = subprocess.run([sys.executable, "-c", DRIVER, str(BENCH), json.dumps(cases)],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("H128")]
    assert line, f"driver failed: {proc.stderr[-3000:]}"
    return {(r["name"], tuple(r["argv"])): r for r in json.loads(line[-1][4:])}


# (script, argv, a word the one-line error must contain): bad choices a user may type
BAD = [
    ("foundation", ["--runs", "nosuch/model"], "known:"),
    ("scann", ["--datasets", "nosuch"], "known:"),
    ("scann", ["--schemes", "D"], "--schemes"),
    ("scann", ["notanumber"], "threads"),
    ("symbiotic", ["--seeds", "a,b"], "--seeds"),
    ("hwsim_pool", ["--rounds", "0"], "--rounds"),
    ("inversion_any", ["--rows", "nosuch/row"], "lenet5_bn/mnist5k"),
    ("inversion_any", ["--kd", "nosuch=1"], "DistillConfig"),
    ("inversion_any", ["--kd", "epochs=x"], "epochs"),
    ("search_efficiency", ["--problems", "nosuch"], "known: convnet"),   # the tabular
    # benchmarks' files are not in a clean checkout: convnet (bundled) is always known
    ("search_efficiency", ["--searchers", "9"], "localbo"),
    ("gpu_check", ["--teacher", "t.pt", "--device", "cpu", "--only", "nosuch"], "inversion"),
    ("gpu_check", ["--teacher", "{tmp}/t.pt", "--device", "cpu"], "--teacher"),
    ("dfprune", ["--teachers", "nosuch", "--out", "{tmp}/d.md"], "lenet"),
    ("grow_prune_defaults", ["--growth-models", "nosuch", "--report", "--out", "{tmp}/g.md"],
     "lenet5"),
    ("diabdeep", ["nosuch", "--out", "{tmp}/d.md"], "blink"),
    ("diabdeep", ["--seeds", "a", "--out", "{tmp}/d.md"], "--seeds"),
    ("hwsim_scalesim", ["--import", "{tmp}/none", "--out", "{tmp}/s.md"], "--import"),
    ("grow_prune", ["--report", "{tmp}/none.json", "--out", "{tmp}/g.md"], "--report"),
    ("search_predictors", ["--seeds", "0", "--out", "{tmp}/p.md"], "--seeds"),
    ("search_predictors", ["--held-out", "100", "--sizes", "5000", "--out", "{tmp}/p.md"],
     "architectures"),
    ("inversion", ["all", "--teacher", "{tmp}/none.pt", "--work", "{tmp}/w", "--md",
                   "{tmp}/i.md"], "--teacher"),
    ("inversion", ["adi", "--teacher", "{tmp}/none.pt", "--work", "{tmp}/w", "--budgets", "4x",
                   "--md", "{tmp}/i.md"], "--budgets"),
    ("inversion", ["job", "--teacher", "{tmp}/none.pt", "--work", "{tmp}/w"], "--job"),
    ("amortized", ["all", "--teacher", "{tmp}/none.pt", "--work", "{tmp}/w", "--md",
                   "{tmp}/a.md"], "--teacher"),
    ("amortized", ["all", "--teacher", "{tmp}/none.pt", "--work", "{tmp}/w", "--amortized",
                   '{"nosuch": 1}', "--md", "{tmp}/a.md"], "nosuch"),
    ("search_arch_set", ["--n", "0", "--out", "{tmp}/a.parquet"], "--n"),
    ("inversion_restarts", ["--seeds", "0", "--work", "{tmp}/w", "--out", "{tmp}/r.md"],
     "--seeds"),
    ("secret_network", ["--seeds", "0", "--out", "{tmp}/s.md"], "--seeds"),
    ("grow_prune", ["--seeds", "1", "2", "--out", "{tmp}/g.md"], "--model"),
    ("grow_prune", ["--skip-peer", "--json", "{tmp}/g.json"], "--model"),
    # the library's one-line errors (synth.errors.UserError) through common.run_main
    ("secret_network", ["--dataset", "nosuch", "--out", "{tmp}/s.md"], "unknown data set"),
    ("secret_network", ["--model", "nosuch", "--out", "{tmp}/s.md"], "unknown model"),
    ("train_ray", ["--dataset", "nosuch", "--out", "{tmp}/t.md"], "unknown data set"),
    ("inversion_layout", ["--rows", "nosuch/row", "--work", "{tmp}/w",
                          "--md", "{tmp}/l.md"], "image rows"),
    ("inversion_layout", ["--rows", "mlp_bn/wine", "--work", "{tmp}/w", "--md", "{tmp}/l.md"],
     "image rows"),
]

# scripts that write a results file, and the option that says where
OUT_OPTION = {name: "--out" for name in SCRIPTS}
OUT_OPTION.update({"amortized": "--md", "gpu_check": "--md", "inversion": "--md",
                   "inversion_any": "--md", "inversion_layout": "--md",
                   "search_arch_set": "--out"})


# runs that do work (cheap ones): (script, argv, what its output must say, must not say)
GOOD = [
    # a --rows run's table listed every other row as "not finished" in this run
    ("inversion_any", ["--rows", "mlp_bn/wine", "--seeds", "1", "--report-only", "--work",
                       "{tmp}/empty", "--md", "{tmp}/ia.md"],
     "Rows without a result in this run (not finished when the table was written; rerun the "
     "command, finished parts are cached): mlp_bn/wine.", "lenet5_bn/mnist5k,"),
    # one seed: its standard error was nan (numpy's ddof=1 over one value)
    ("secret_network", ["--seeds", "1", "--epochs", "1", "--out", "{tmp}/sn.md"],
     "glove ", "nan"),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Outputs a bad case might write (none should) go to a temporary folder ({tmp})."""
    tmp = str(tmp_path_factory.mktemp("h128"))
    out = run_cases([(n, ["--help"]) for n in SCRIPTS]
                    + [(n, [v.replace("{tmp}", tmp) for v in a]) for n, a, _ in BAD]
                    + [(n, [v.replace("{tmp}", tmp) for v in a]) for n, a, _, _ in GOOD])
    return {(name, tuple(v.replace(tmp, "{tmp}") for v in argv)): r
            for (name, argv), r in out.items()}


@pytest.mark.parametrize("name", SCRIPTS)
def test_help_exits_zero_with_usage(results, name):
    r = results[(name, ("--help",))]
    assert r["code"] in (0, None), f"{name} --help: {r['code']} {r['traceback'][-2000:]}"
    assert r["stdout"].startswith("usage:"), r["stdout"][:500]
    option = OUT_OPTION[name]
    if option:
        assert option in r["stdout"], f"{name} has no {option}: a run writes a committed file"


@pytest.mark.parametrize("name,argv,word", BAD, ids=[f"{n}-{' '.join(a)}" for n, a, _ in BAD])
def test_bad_choice_is_one_line_exit_2(results, name, argv, word):
    r = results[(name, tuple(argv))]
    assert r["code"] == 2, f"{name} {argv}: {r['code']} {r['traceback'][-2000:]}"
    assert "Traceback" not in r["stderr"] and not r["traceback"]
    error = [ln for ln in r["stderr"].splitlines() if "error:" in ln]
    assert len(error) == 1 and word in error[0], r["stderr"]


@pytest.mark.parametrize("name,argv,says,not_says", GOOD, ids=[n for n, *_ in GOOD])
def test_cheap_run_reports_what_it_ran(results, name, argv, says, not_says):
    r = results[(name, tuple(argv))]
    assert r["code"] in (0, None, "returned"), f"{name} {argv}: {r['code']} {r['traceback']}"
    assert says in r["stdout"] and not_says not in r["stdout"], r["stdout"][-3000:]


def test_symbiotic_quick_run_keeps_the_full_runs_reports():
    """``--quick`` wrote its per-seed reports into results/symbiotic/seedN/, the committed
    full run's folder; now it has its own (and --work/--out say where)."""
    before = {n: sys.modules.get(n) for n in ("symbiotic", "common")}
    sys.path.insert(0, str(BENCH))
    try:
        import symbiotic
    finally:   # the scripts' module names are generic: leave none behind in this process
        sys.path.remove(str(BENCH))
        for name, module in before.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
    full = symbiotic.paths(symbiotic.parse([]))
    quick = symbiotic.paths(symbiotic.parse(["--quick", "--seeds", "0,1"]))
    assert full == (BENCH / "results" / "symbiotic", BENCH / "results" / "symbiotic.md")
    assert quick[0] != full[0] and quick[1] != full[1]
    own = symbiotic.paths(symbiotic.parse(["--work", "/tmp/w", "--out", "/tmp/o.md"]))
    assert own == (Path("/tmp/w"), Path("/tmp/o.md"))
