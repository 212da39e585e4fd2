"""The sandbox rejects the adversarial corpus, with a clear message and no side effect."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tabrl.rewards import check_reward, sandbox

SCENE = "CartpoleBalance"


def _reward(body: str, header: str = "") -> str:
    """A compute_reward whose body is `body` (indented here)."""
    lines = "\n".join("    " + line for line in body.strip("\n").splitlines())
    return f"{header}\ndef compute_reward(s, action):\n{lines}\n"


OK_RETURN = 'return {"up": s.body_upright("pole_1")}'

#: (id, program, a fragment the error message must contain). Each must be rejected.
ADVERSARIAL: list[tuple[str, str, str]] = [
    ("import", "import os\n" + _reward(OK_RETURN), "imports are not allowed"),
    ("from-import", "from os import system\n" + _reward(OK_RETURN), "imports are not allowed"),
    ("dunder-import", _reward('__import__("os").system("touch /tmp/x")\n' + OK_RETURN), "'__import__'"),
    ("eval", _reward('x = eval("1 + 1")\n' + OK_RETURN), "`eval` is not available"),
    ("exec", _reward('exec("y = 1")\n' + OK_RETURN), "`exec` is not available"),
    ("compile", _reward('c = compile("1", "f", "eval")\n' + OK_RETURN), "`compile` is not available"),
    ("getattr-private", _reward('d = getattr(s, "_data")\n' + OK_RETURN), "`getattr` is not available"),
    ("private-attribute", _reward("d = s._data\n" + OK_RETURN), "private"),
    ("dunder-class", _reward("c = s.__class__.__bases__\n" + OK_RETURN), "private"),
    ("subclasses", _reward("c = ().__class__.__base__.__subclasses__()\n" + OK_RETURN), "private"),
    ("generator-frame", _reward("g = (x for x in [1]).gi_frame.f_back.f_globals\n" + OK_RETURN), ".gi_frame"),
    ("str-format", _reward('t = "{0.__class__}".format(s)\n' + OK_RETURN), ".format"),
    ("percent-format", _reward('t = "%s" % (s,)\n' + OK_RETURN), "string formatting"),
    ("f-string", _reward('t = f"{s}"\n' + OK_RETURN), "f-strings are not allowed"),
    ("lambda", _reward("f = lambda x: x\n" + OK_RETURN), "`lambda` is not allowed"),
    (
        "closure",
        _reward("def inner(x):\n    return x\n" + OK_RETURN),
        "nested functions",
    ),
    ("while-true", _reward("while True:\n    pass\n" + OK_RETURN), "`while` loops are not allowed"),
    ("huge-range", _reward("t = 0\nfor i in range(10**9):\n    t = t + i\n" + OK_RETURN), "range of"),
    (
        "nested-loops",
        _reward("t = 0\nfor i in range(1000):\n    for j in range(1000):\n        t = t + 1\n" + OK_RETURN),
        "loop iterations",
    ),
    (
        "comprehension-blowup",
        _reward("t = [i for i in range(1000) for j in range(1000)]\n" + OK_RETURN),
        "loop iterations",
    ),
    (
        "recursion",
        "def f(n):\n    return f(n)\n\n" + _reward("f(1)\n" + OK_RETURN),
        "recursion is not allowed",
    ),
    (
        "function-as-value",
        "def g(f, n):\n    return n\n\ndef h(n):\n    return n\n\n" + _reward("g(h, 3)\n" + OK_RETURN),
        "can only be called",
    ),
    ("huge-int", _reward("x = 9 ** 9 ** 9\n" + OK_RETURN), "too large"),
    ("huge-list", _reward("x = [0] * 10**9\n" + OK_RETURN), "repeating a sequence"),
    (
        "string-doubling",
        _reward('x = "ab"\nfor i in range(64):\n    x = x + x\n' + OK_RETURN),
        "joining sequences",
    ),
    ("huge-array", _reward("x = jnp.zeros((100000, 100000))\n" + 'return {"x": jnp.sum(x)}'), "elements"),
    ("wrong-shape", _reward('return {"pos": s.body_pos("cart")}'), "must be a single number"),
    ("nan-term", _reward('return {"bad": jnp.zeros(()) / 0.0}'), "NaN"),
    ("inf-term", _reward('return {"bad": 1.0 / (s.time * 0.0)}'), "infinite"),
    ("not-a-dict", _reward("return 1.0"), "must return a dict"),
    ("empty-dict", _reward("return {}"), "empty dict"),
    ("string-term", _reward('return {"x": "hello"}'), "not a number"),
    ("bad-term-name", _reward('return {"has space": s.time}'), "not valid"),
    ("unknown-body", _reward('return {"x": s.body_height("torso")}'), "unknown body 'torso'"),
    ("unknown-method", _reward('return {"x": s.body_altitude("cart")}'), ".body_altitude"),
    (
        "python-if-on-state",
        _reward('if s.body_height("cart") > 0:\n    return {"x": 1.0}\nreturn {"x": 0.0}'),
        "jnp.where",
    ),
    ("float-of-state", _reward('return {"x": float(s.time)}'), "concrete number"),
    ("global", "X = 1\n" + _reward("global X\n" + OK_RETURN), "global is not allowed"),
    ("try-except", _reward("try:\n    x = 1\nexcept Exception:\n    x = 2\n" + OK_RETURN), "try/except"),
    ("class", "class A:\n    pass\n" + _reward(OK_RETURN), "classes are not allowed"),
    ("top-level-call", 'print("hello")\n' + _reward(OK_RETURN), "top level"),
    ("top-level-computation", "X = [0] * 100\n" + _reward(OK_RETURN), "literal constants"),
    ("builtins-name", _reward("b = __builtins__\n" + OK_RETURN), "'__builtins__'"),
    ("type-builtin", _reward("t = type(s)\n" + OK_RETURN), "`type` is not available"),
    ("globals-builtin", _reward("g = globals()\n" + OK_RETURN), "`globals` is not available"),
    ("vars-builtin", _reward("v = vars(s)\n" + OK_RETURN), "`vars` is not available"),
    ("jnp-load", _reward('x = jnp.load("weights.npy")\n' + OK_RETURN), ".load"),
    ("breakpoint", _reward("breakpoint()\n" + OK_RETURN), "`breakpoint` is not available"),
    ("walrus", _reward("y = (z := 3)\n" + OK_RETURN), "walrus"),
    ("yield", _reward("yield 1\n" + OK_RETURN), "generators"),
    ("with-open", _reward('with open("f") as f:\n    pass\n' + OK_RETURN), "`with` is not allowed"),
    ("decorator", "@jnp.vectorize\ndef compute_reward(s, action):\n    " + OK_RETURN, "decorators"),
    ("no-compute-reward", "def reward(s, action):\n    " + OK_RETURN, "define `def compute_reward"),
    ("bad-weights", 'WEIGHTS = {"up": "high"}\n' + _reward(OK_RETURN), "WEIGHTS must be a dict"),
    ("weights-unknown-term", 'WEIGHTS = {"upp": 1.0}\n' + _reward(OK_RETURN), "no such terms"),
    ("too-long", "# " + "x" * 30_000 + "\n" + _reward(OK_RETURN), "characters"),
    ("too-deep", _reward("x = " + "abs(" * 45 + "1" + ")" * 45 + "\n" + OK_RETURN), "nested"),
    ("syntax-error", _reward("return {'x': 1.0"), "syntax error"),
    ("long-string", _reward(f"x = '{'a' * 500}'\n" + OK_RETURN), "string literal"),
    ("jnp-list-blowup", _reward("x = jnp.array([[0.0] * 5000] * 3)\n" + OK_RETURN), "more than"),
    ("sum-list-concat", _reward("x = sum([[1], [2]], [])\n" + OK_RETURN), "sum() adds numbers"),
]


@pytest.fixture(scope="module", autouse=True)
def _warm_scene() -> None:
    # Loading the scene and simulating its sample states is paid once per process, not per check.
    from tabrl.rewards.compiler import scene_context

    scene_context(SCENE)


def test_corpus_is_large_enough() -> None:
    assert len(ADVERSARIAL) >= 30
    assert len({name for name, _, _ in ADVERSARIAL}) == len(ADVERSARIAL)


@pytest.mark.parametrize(("name", "code", "fragment"), ADVERSARIAL, ids=[a[0] for a in ADVERSARIAL])
def test_adversarial_program_is_rejected(name: str, code: str, fragment: str) -> None:
    start = time.perf_counter()
    result = check_reward(code, SCENE, env_check=False)
    elapsed = time.perf_counter() - start
    assert not result.valid, f"{name} was accepted"
    messages = " | ".join(e.message for e in result.errors)
    assert fragment in messages, messages
    assert all(len(e.message) > 15 for e in result.errors)
    assert elapsed < 5.0, f"{name} took {elapsed:.1f}s"
    doc = result.to_dict()
    assert doc["valid"] is False and isinstance(doc["errors"], list)
    assert all(set(e) == {"line", "message"} for e in doc["errors"])


@pytest.mark.parametrize(
    ("name", "expected_line"),
    [
        ("import", 1),
        ("private-attribute", 3),
        ("lambda", 3),
        ("unknown-body", 3),
        ("python-if-on-state", 3),
        ("huge-int", 3),
        ("wrong-shape", 3),
    ],
)
def test_errors_point_at_the_line(name: str, expected_line: int) -> None:
    code = next(c for n, c, _ in ADVERSARIAL if n == name)
    result = check_reward(code, SCENE, env_check=False)
    assert expected_line in [e.line for e in result.errors], result.errors


def test_file_writes_have_no_side_effect(tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    attempts = [
        _reward(f"open({str(target)!r}, 'w').write('x')\n" + OK_RETURN),
        _reward(f"f = getattr(__builtins__, 'open')\nf({str(target)!r}, 'w')\n" + OK_RETURN),
        _reward(f"s.body_pos.__globals__['__builtins__']['open']({str(target)!r}, 'w')\n" + OK_RETURN),
        _reward(
            "for c in ().__class__.__base__.__subclasses__():\n"
            f"    c.__init__.__globals__['open']({str(target)!r}, 'w')\n" + OK_RETURN
        ),
        f"X = open({str(target)!r}, 'w')\n" + _reward(OK_RETURN),
    ]
    for code in attempts:
        result = check_reward(code, SCENE, env_check=False)
        assert not result.valid
        assert not target.exists()


def test_time_limit_stops_long_tracing() -> None:
    code = _reward(
        'x = s.body_height("cart")\nfor i in range(1000):\n    for j in range(190):\n        x = jnp.sin(x)\n'
        'return {"x": x}'
    )
    start = time.perf_counter()
    result = check_reward(code, SCENE, env_check=False, time_limit_s=0.5)
    assert time.perf_counter() - start < 5.0
    assert not result.valid
    assert "took longer than" in result.errors[0].message


def test_static_check_collects_several_errors() -> None:
    code = "import os\n" + _reward("x = eval('1')\ny = s._data\n" + OK_RETURN)
    tree, errors = sandbox.parse(code)
    assert tree is not None and not errors
    lines = {e.line for e in sandbox.validate(tree)}
    assert {1, 4, 5} <= lines


def test_allowed_constructs_compile() -> None:
    code = '''
"""Uses loops, comprehensions, helpers, constants, kernels and the allowed builtins."""
WEIGHTS = {"sum": 0.5, "kernel": 2.0}
SCALE: float = 2.0
NAMES = ["slider", "hinge_1"]


def helper(x, k=2):
    return x * k


def compute_reward(s, action) -> dict:
    total = 0.0
    for i, name in enumerate(NAMES):
        total += helper(s.joint_angle(name), k=i + 1)
    squares = [jnp.square(a) for a in action]
    kernel = tolerance(s.body_height("pole_1"), bounds=(0.5, 2.0), margin=0.5) * gaussian(s.time, 1.0)
    phase = jnp.sin(2 * pi * s.phase(0.5))
    return {"sum": total + sum(squares), "kernel": kernel, "phase": phase * exponential(s.joint_vel("slider"), 1.0),
            "n": float(len(NAMES)) + abs(-1) + max(1, 2) + round(0.4)}


def is_terminated(s):
    return jnp.abs(s.joint_angle("slider")) > 2.0
'''
    result = check_reward(code, SCENE, env_check=False)
    assert result.valid, result.errors
    assert result.terms == ["kernel", "n", "phase", "sum"]


def test_total_list_memory_is_bounded() -> None:
    # Each list is small, but together they would hold billions of items.
    code = _reward(
        "acc = [[[0] * 10000 for i in range(1000)] for j in range(200)]\n"
        "more = [list(range(1000)) for i in range(1000)]\n" + OK_RETURN
    )
    result = check_reward(code, SCENE)
    assert not result.valid
    assert "list/tuple/string items" in result.errors[0].message
