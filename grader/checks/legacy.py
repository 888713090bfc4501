"""Legacy-API diagnostics: TF1 / Keras 2 code on TensorFlow 2.21 / Keras 3.

The course's code was written for TensorFlow 1 and Keras 2; students paste it unchanged. This
module recognises old-API use in two ways and names the modern call for each:

- `scan_source` / `scan_notebook` read the code. `ast` is used where the code parses (after
  blanking IPython `%` / `!` lines); lines that do not parse are blanked one by one and read on
  their own, first as Python, then as call and attribute fragments, so a single typo does not hide
  the rest of a cell.
- `diagnose_error` reads the error a cell raised (ename, evalue, and the IPython traceback, whose
  shown cell lines give the exact old call when they are there).

Findings are hints, never mistakes: `findings_to_checks` turns them into checks of kind
"legacy-api" that are worth 0 of 0 points and have status PASS. `PartResult.status` ignores that
kind, and reporters list them apart; when old code really breaks an exercise, the exercise's own
checks already fail, so a finding never costs a point twice (or at all).

The scan runs in the trusted process on code of any size and shape, so it is linear and capped:
the tree is walked without recursion (a 600-term sum nests 600 deep), a cell is re-parsed at most
`MAX_REPAIRS` times before its lines are read one by one, a line is read up to `MAX_LINE_CHARS`,
and a notebook up to `MAX_SCAN_CHARS` (findings are hints: what is past a cap is not scanned).
Anything the parser or `ast` helpers refuse to handle (RecursionError, MemoryError) costs only
the finding, never the grade.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from grader.i18n import CATALOG, LANGS, t
from grader.results import CheckResult, Status

MAX_REPAIRS = 20  # re-parses of one cell, blanking a bad line each time; then line by line
MAX_LINE_CHARS = 2000  # of a line read on its own
MAX_LINE_CALLS = 50  # call fragments tried per line read on its own
MAX_CELL_CHARS = 100_000  # of one cell (an honest cell is a few thousand)
MAX_SCAN_CHARS = 500_000  # of one notebook, together (about 2 s of scanning at worst)
MAX_FINDINGS = 200  # reported per notebook
_AST_FAILURES = (SyntaxError, ValueError, RecursionError, MemoryError)

__all__ = ["CODES", "Finding", "diagnose_error", "findings_to_checks", "scan_notebook", "scan_source"]


@dataclass(frozen=True)
class Finding:
    """One use of an old API, found in the source or in an error."""

    code: str  # stable id, e.g. "keras-optimizer-lr"
    old: str  # what was found, e.g. "SGD(lr=0.1)"
    new: str  # the modern call, e.g. "SGD(learning_rate=0.1)"
    message: dict[str, str] = field(compare=False)  # {"en": ..., "ja": ...}
    line: int | None = None  # 1-based line in the cell source, when known
    cell: str | None = None  # grade_id or cell index
    source: str = "scan"  # "scan" or "error"
    args: dict[str, str] = field(default_factory=dict, compare=False)  # the message's per-code fields


# The finding codes: each has its message, "legacy.<code>", in the catalogue (grader/i18n.py).
CODES: tuple[str, ...] = tuple(k.removeprefix("legacy.") for k in CATALOG if k.startswith("legacy."))

_TF1_FIX = "import tensorflow.compat.v1 as tf; tf.disable_v2_behavior()"

# Names (relative to `tf`) that TensorFlow 1 had and TensorFlow 2's `tf` has not, while
# `tf.compat.v1` still has them. A slow test checks both facts against the installed TensorFlow.
_TF1_ONLY = frozenset(
    """placeholder placeholder_with_default Session InteractiveSession global_variables_initializer
    initialize_all_variables local_variables_initializer variables_initializer assign assign_add
    assign_sub log random_normal random_uniform truncated_normal random_shuffle set_random_seed
    reset_default_graph get_default_graph get_variable variable_scope to_float to_int32 arg_max
    arg_min div Print trainable_variables global_variables squared_difference log_sigmoid
    disable_v2_behavior disable_eager_execution train.GradientDescentOptimizer train.AdamOptimizer
    train.MomentumOptimizer train.AdagradOptimizer train.RMSPropOptimizer train.AdadeltaOptimizer
    train.Saver train.exponential_decay summary.FileWriter nn.softmax_cross_entropy_with_logits_v2
    nn.xw_plus_b nn.dynamic_rnn nn.static_rnn losses.softmax_cross_entropy""".split()
)
# Graph-mode helpers Keras 3 removed from TF (`tf.layers.*`, `tf.nn.rnn_cell.*`) -> Keras layers.
_TF_TO_KERAS = {
    "dense": "Dense",
    "conv2d": "Conv2D",
    "conv1d": "Conv1D",
    "max_pooling2d": "MaxPooling2D",
    "average_pooling2d": "AveragePooling2D",
    "dropout": "Dropout",
    "flatten": "Flatten",
    "batch_normalization": "BatchNormalization",
    "BasicRNNCell": "SimpleRNNCell",
    "RNNCell": "SimpleRNNCell",
    "BasicLSTMCell": "LSTMCell",
    "LSTMCell": "LSTMCell",
    "GRUCell": "GRUCell",
    "MultiRNNCell": "StackedRNNCells",
}
_TF_KERAS3_PREFIXES = ("layers", "nn.rnn_cell")

# Keras 3 optimizers and their default learning rate (checked against keras by a slow test).
_OPTIMIZERS = {
    "SGD": 0.01,
    "Adam": 0.001,
    "AdamW": 0.001,
    "RMSprop": 0.001,
    "Adagrad": 0.001,
    "Adadelta": 0.001,
    "Adamax": 0.001,
    "Nadam": 0.001,
    "Ftrl": 0.001,
    "Lion": 0.001,
}
_KERAS_LAYERS = frozenset(
    """Dense Activation Dropout Flatten Reshape Conv1D Conv2D Conv3D Convolution1D Convolution2D
    Conv2DTranspose SeparableConv2D DepthwiseConv2D MaxPooling1D MaxPooling2D AveragePooling2D
    GlobalAveragePooling2D BatchNormalization Embedding SimpleRNN LSTM GRU Bidirectional
    TimeDistributed""".split()
)
_LAYER_RENAMES = {
    "init": "kernel_initializer",
    "W_regularizer": "kernel_regularizer",
    "b_regularizer": "bias_regularizer",
    "W_constraint": "kernel_constraint",
    "b_constraint": "bias_constraint",
    "bias": "use_bias",
    "nb_filter": "filters",
}
_GENERATOR_METHODS = {"fit_generator": "fit", "evaluate_generator": "evaluate", "predict_generator": "predict"}
_SKLEARN_GONE = ("sklearn.cross_validation", "sklearn.grid_search", "sklearn.learning_curve")
_COURSE_MNIST = ("MNIST_data.mnist", "data.mnist", "dataset.mnist")
# Cell magics whose body is Python; any other `%%magic` cell is not scanned.
_PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun")


def _finding(
    code: str, old: str, new: str, line: int | None = None, cell: str | None = None, source: str = "scan", **fields: str
) -> Finding:
    message = {lang: t(f"legacy.{code}", lang, old=old, new=new, **fields) for lang in LANGS}
    return Finding(code, old, new, message, line, cell, source, fields)


def _module_move(module: str, names: str) -> tuple[str, str] | None:
    """(code, modern import) for an import of a removed module, or None."""
    prefix, base = (
        ("tensorflow.", module[len("tensorflow.") :]) if module.startswith("tensorflow.keras.") else ("", module)
    )
    if module == "tensorflow.examples" or module.startswith("tensorflow.examples."):
        return "tf-examples-mnist", "from grader.datasets import input_data"
    if module in _COURSE_MNIST:
        return "course-load-mnist", f"from grader.datasets.mnist import {names or 'load_mnist'}"
    if base.startswith("keras.layers."):
        return "keras-layers-submodule", f"from {prefix}keras.layers import {names or '...'}"
    if base == "keras.utils.np_utils":
        return "keras-np-utils", f"from {prefix}keras.utils import to_categorical"
    if any(module == m or module.startswith(m + ".") for m in _SKLEARN_GONE):
        return "sklearn-cross-validation", f"from sklearn.model_selection import {names or '...'}"
    return None


def _dotted(node: ast.AST) -> list[str] | None:
    """["tf", "train", "AdamOptimizer"] for a pure Name.attr.attr chain, else None."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _oneline(text: str) -> str:
    """A multi-line call on one line; its comments would swallow the rest, so they go."""
    if "\n" not in text:
        return text.strip()
    return " ".join(p for p in (_strip_comment(ln).strip() for ln in text.split("\n")) if p)


class _Scanner:
    """Reads the cells of one notebook in order, keeping what earlier cells set up."""

    def __init__(self) -> None:
        self.tf_aliases: dict[str, str] = {}  # local name -> "v2" (tensorflow) or "v1" (compat.v1)
        self.eager_off = False  # disable_v2_behavior() / disable_eager_execution() seen
        self.acc_metric = False  # compiled with metrics=['acc']: history['acc'] then exists
        self.last_activation = ""  # to tell sigmoid outputs from softmax ones
        self.layer_vars: set[str] = set()  # loop variables over `model.layers`
        self.built: set[str] = set()  # models that already have a layer: input_dim is not first
        self._found: dict[tuple[str, int | None], Finding] = {}
        self._tf1: dict[str, int] = {}
        self._lines: dict[str, list[bytes]] = {}  # text -> its lines (UTF-8, as ast's offsets count)
        self.emitted = 0  # findings of the whole notebook; reported up to MAX_FINDINGS

    def lines_of(self, text: str) -> list[bytes]:
        """`text` split into lines as `ast` counts them, once per text (a cell has one visitor
        per statement, each of which may need a segment of it)."""
        if text not in self._lines:
            self._lines[text] = [ln.encode() for ln in re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)]
        return self._lines[text]

    # -- cells -----------------------------------------------------------------------------
    def scan_cell(self, source: str, cell: str | None) -> list[Finding]:
        self._found, self._tf1, self._lines = {}, {}, {}
        text = _blank_ipython(_cut(source, MAX_CELL_CHARS))
        tree, bad = _parse_with_repair(text)
        lines = text.split("\n")
        pending = sorted(bad)
        for stmt in tree.body:
            while pending and pending[0] < stmt.lineno:
                self._scan_line(lines[pending[0] - 1], pending.pop(0))
            _visit(_Visitor(self, text, 0), stmt)
        for n in pending:
            self._scan_line(lines[n - 1], n)
        if self._tf1:
            names = sorted(self._tf1, key=self._tf1.get)
            self.emit(
                "tf1-api", ", ".join(names), _TF1_FIX, min(self._tf1.values()), names=", ".join(f"`{n}`" for n in names)
            )
        return sorted((replace(f, cell=cell) for f in self._found.values()), key=lambda f: f.line or 0)

    def emit(self, code: str, old: str, new: str, line: int | None, **fields: str) -> None:
        if (code, line) not in self._found and self.emitted < MAX_FINDINGS:
            self._found[(code, line)] = _finding(code, _oneline(old), new, line, **fields)
            self.emitted += 1

    def tf1_name(self, dotted: str, line: int) -> None:
        self._tf1.setdefault(dotted, line)

    # -- lines that do not parse -----------------------------------------------------------
    def _scan_line(self, raw: str, lineno: int) -> None:
        code = _strip_comment(raw[:MAX_LINE_CHARS]).strip()
        if not code:
            return
        for attempt in (code, code + " pass"):
            if tree := _try_parse(attempt):
                _visit(_Visitor(self, attempt, lineno - 1), tree)
                return
        if m := re.match(r"from\s+([\w.]+)\s+import\s+(.+)$", code):
            names = [(n.strip(" ()"), None) for n in m.group(2).split(",")]
            self.on_import_from(m.group(1), names, lineno, code)
        elif m := re.match(r"import\s+([\w.]+)(?:\s+as\s+(\w+))?", code):
            self.on_import(m.group(1), m.group(2), lineno, code)
        starts = re.finditer(r"(?<![\w.])[A-Za-z_][\w.]*\s*\(", code)
        for start in (m.start() for _, m in zip(range(MAX_LINE_CALLS), starts)):
            for frag in _call_fragments(code[start:]):
                if tree := _try_parse(frag, "eval"):
                    _visit(_Visitor(self, frag, lineno - 1), tree)
                    break
        chain = r"(?<![\w.])[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[[^\[\]\n]*\])+"
        for _, m in zip(range(MAX_LINE_CALLS), re.finditer(chain, code)):
            if tree := _try_parse(m.group(0), "eval"):
                _visit(_Visitor(self, m.group(0), lineno - 1), tree)

    # -- imports ---------------------------------------------------------------------------
    def on_import(self, module: str, alias: str | None, line: int, old: str) -> None:
        if alias and (module == "tensorflow" or module.startswith("tensorflow.")):
            self.tf_aliases[alias] = "v1" if module == "tensorflow.compat.v1" else "v2"
        elif module == "tensorflow" or module.startswith("tensorflow."):
            self.tf_aliases["tensorflow"] = "v2"  # `import tensorflow.x` binds `tensorflow`
        if move := _module_move(module, ""):
            self.emit(move[0], old, move[1], line, arg=module)

    def on_import_from(self, module: str, names: list[tuple[str, str | None]], line: int, old: str) -> None:
        for name, alias in names:
            if module == "tensorflow.compat" and name == "v1":
                self.tf_aliases[alias or name] = "v1"
            if module in ("keras.utils", "tensorflow.keras.utils") and name == "np_utils":
                self.emit("keras-np-utils", old, f"from {module} import to_categorical", line, arg=f"{module}.np_utils")
        listed = ", ".join(f"{n} as {a}" if a else n for n, a in names)
        if move := _module_move(module, listed):
            self.emit(move[0], old, move[1], line, arg=module)

    # -- tf.* ------------------------------------------------------------------------------
    def resolve_tf(self, parts: list[str]) -> tuple[str, str] | None:
        """(mode, path relative to tf) for a chain that starts at a TensorFlow alias."""
        head, rest = parts[0], parts[1:]
        # A bare `tf` nobody imported is almost always `import tensorflow as tf` from elsewhere.
        mode = self.tf_aliases.get(head, "v2" if head == "tf" else None)
        if mode is None:
            return None
        if mode == "v2" and rest[:2] == ["compat", "v1"]:
            mode, rest = "v1", rest[2:]
        return mode, ".".join(rest)

    def check_tf(self, parts: list[str], old: str, line: int) -> None:
        resolved = self.resolve_tf(parts)
        if resolved is None or not resolved[1]:
            return
        mode, path = resolved
        prefixes = [path.rsplit(".", n)[0] for n in range(path.count(".") + 1)]
        if any(p in _TF_KERAS3_PREFIXES for p in prefixes):
            name = path.rsplit(".", 1)[-1]
            self.emit(
                "tf-layers-keras3",
                old,
                f"keras.layers.{_TF_TO_KERAS[name]}" if name in _TF_TO_KERAS else "keras.layers",
                line,
            )
        elif mode == "v2" and (hit := next((p for p in prefixes if p in _TF1_ONLY), None)):
            # Report `tf.train.Saver`, not the `tf.train.Saver.restore` it was reached through.
            self.tf1_name(".".join(parts[: len(parts) - path.count(".") + hit.count(".")]), line)
        elif mode == "v1" and path in ("disable_v2_behavior", "disable_eager_execution"):
            self.eager_off = True
        elif mode == "v1" and path == "placeholder" and not self.eager_off:
            self.emit("tf-eager-placeholder", old, "tf.disable_v2_behavior()", line)


def _visit(visitor: _Visitor, tree: ast.AST) -> None:
    """Walk `tree`; a piece that an `ast` helper cannot handle (a RecursionError in unparse or
    deepcopy of a very deep expression) loses its findings, nothing else."""
    try:
        visitor.visit(tree)
    except (RecursionError, MemoryError):
        pass


class _Visitor(ast.NodeVisitor):
    """Walks one parsed piece of a cell (the cell, a line or a fragment) in source order.

    Without recursion: each visit_* method does its work, then `generic_visit` queues the
    node's children, which `visit` takes from a stack in source order (pre-order, as the
    recursive NodeVisitor would). A long honest expression nests as deep as it is long."""

    def __init__(self, scanner: _Scanner, text: str, offset: int) -> None:
        self.s, self.text, self.offset = scanner, text, offset
        # id(layer call) -> (model, is_later_layer) for calls in model.add(...) / Sequential([...])
        self.parents: dict[int, tuple[str | None, bool]] = {}
        self.adds: dict[int, ast.Call] = {}  # id(layer call) -> the model.add(...) call around it
        self._queued: list[ast.AST] = []

    def visit(self, node: ast.AST) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            self._queued = []
            getattr(self, "visit_" + current.__class__.__name__, self.generic_visit)(current)
            stack.extend(reversed(self._queued))

    def generic_visit(self, node: ast.AST) -> None:
        self._queued.extend(ast.iter_child_nodes(node))

    def _line(self, node: ast.AST) -> int:
        return node.lineno + self.offset

    def _seg(self, node: ast.AST) -> str:
        return self._segment(node) or ast.unparse(node)

    def _segment(self, node: ast.AST) -> str | None:
        """`ast.get_source_segment`, over lines split once: it splits the whole text per call,
        which made a cell of 4,000 old calls take minutes."""
        end, end_col = getattr(node, "end_lineno", None), getattr(node, "end_col_offset", None)
        if end is None or end_col is None:
            return None
        lines = self.s.lines_of(self.text)
        start, col = node.lineno - 1, node.col_offset
        if not 0 <= start <= end - 1 < len(lines):
            return None
        if start == end - 1:
            return lines[start][col:end_col].decode("utf-8", "replace")
        middle = b"".join(lines[start + 1 : end - 1])
        return (lines[start][col:] + middle + lines[end - 1][:end_col]).decode("utf-8", "replace")

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            self.s.on_import(a.name, a.asname, self._line(node), self._seg(node))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module and not node.level:
            names = [(a.name, a.asname) for a in node.names]
            self.s.on_import_from(node.module, names, self._line(node), self._seg(node))

    def visit_Assign(self, node: ast.Assign) -> None:
        if isinstance(node.value, ast.Call) and _call_name(node.value) in ("Sequential", "Model"):
            for target in node.targets:
                self.s.built.discard(ast.unparse(target))
        self.generic_visit(node)

    def visit_For(self, node: ast.For) -> None:
        if isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Attribute) and node.iter.attr == "layers":
            self.s.layer_vars.add(node.target.id)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        self._observe(node)
        parent = self.parents.get(id(node))
        _, issues = _fix_call(node, self.s, parent)
        if issues and self.s.emitted < MAX_FINDINGS:  # past that, none is reported: skip the rewrite
            new = _modernize(node, self.s, parent)
            # A first layer's fix adds `model.add(keras.Input(...))`: then the old is the add call.
            wrapped = new.startswith(f"{parent[0]}.add(") if parent and parent[0] else False
            old = self._seg(self.adds[id(node)]) if wrapped else self._seg(node)
            for code, fields in issues:
                self.s.emit(code, old, new, self._line(node), **fields)
        self.generic_visit(node)

    def _observe(self, node: ast.Call) -> None:
        """Record what later rules depend on: metrics, the last activation, model.add(...)."""
        name = _call_name(node)
        if isinstance(node.func, ast.Attribute) and name == "add" and node.args:
            model = ast.unparse(node.func.value)
            self.parents[id(node.args[0])] = (model, model in self.s.built)
            self.adds[id(node.args[0])] = node
            self.s.built.add(model)
        if name == "Sequential" and node.args and isinstance(node.args[0], ast.List):
            for i, layer in enumerate(node.args[0].elts):
                self.parents[id(layer)] = (None, i > 0)
        for kw in node.keywords:
            if kw.arg == "metrics" and "'acc'" in ast.unparse(kw.value):
                self.s.acc_metric = True
            if kw.arg == "activation" and isinstance(kw.value, ast.Constant):
                self.s.last_activation = str(kw.value.value)
        if name == "Activation" and node.args and isinstance(node.args[0], ast.Constant):
            self.s.last_activation = str(node.args[0].value)
        elif (
            name in _KERAS_LAYERS
            and name not in ("Dropout", "Flatten", "Reshape")
            and not any(kw.arg == "activation" for kw in node.keywords)
        ):
            self.s.last_activation = ""

    def visit_Attribute(self, node: ast.Attribute) -> None:
        line = self._line(node)
        if parts := _dotted(node):
            self.s.check_tf(parts, self._seg(node), line)
            if parts[0] in ("keras", "tensorflow", "tf") and "np_utils" in parts[1:]:
                self.s.emit(
                    "keras-np-utils",
                    self._seg(node),
                    "keras.utils.to_categorical",
                    line,
                    arg=".".join(parts[: parts.index("np_utils") + 1]),
                )
        if node.attr == "output_shape" and _looks_like_layer(node.value, self.s):
            self.s.emit("keras-output-shape", self._seg(node), f"{ast.unparse(node.value)}.output.shape", line)
        if not parts:  # a pure chain has no sub-chain worth a second look
            self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        key = node.slice
        if (
            isinstance(key, ast.Constant)
            and key.value in ("acc", "val_acc")
            and not self.s.acc_metric
            and _looks_like_history(node.value)
        ):
            fixed = ast.Subscript(node.value, ast.Constant(key.value + "uracy"), node.ctx)
            self.s.emit("keras-history-acc", self._seg(node), ast.unparse(fixed), self._line(node))
        self.generic_visit(node)


def _call_name(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _looks_like_layer(node: ast.expr, s: _Scanner) -> bool:
    """`model.layers[0]`, `model.get_layer(...)`, `layer`, `dense_layer`, a loop variable."""
    if isinstance(node, ast.Subscript):
        return isinstance(node.value, ast.Attribute) and node.value.attr == "layers"
    if isinstance(node, ast.Call):
        return _call_name(node) == "get_layer"
    if isinstance(node, ast.Name):
        return "layer" in node.id.lower() or node.id in s.layer_vars
    return False


def _looks_like_history(node: ast.expr) -> bool:
    """`history.history`, `hist.history`, or a name such as `hist` / `history_dict`."""
    if isinstance(node, ast.Attribute):
        return node.attr == "history"
    return isinstance(node, ast.Name) and "hist" in node.id.lower()


def _expr(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _fix_call(
    node: ast.Call, s: _Scanner, parent: tuple[str | None, bool] | None = None
) -> tuple[ast.expr, list[tuple[str, dict]]]:
    """The modern form of one call (children untouched) and the issues found in it.

    `parent` is (model, is_later_layer) when the call is a layer in `model.add(...)` or
    `Sequential([...])`. The input node is not modified: keywords are rebuilt on a shallow copy.
    """
    name = _call_name(node)
    call = copy.copy(node)
    kws = list(node.keywords)
    issues: list[tuple[str, dict]] = []

    def kw(arg: str) -> ast.keyword | None:
        return next((k for k in kws if k.arg == arg), None)

    def rename(old: str, new: str) -> None:
        kws[:] = [ast.keyword(new, k.value) if k.arg == old else k for k in kws]

    if name in _OPTIMIZERS:
        for arg in ("lr", "Ir"):  # "Ir" (capital i) is how "lr" comes out of copied PDFs
            if kw(arg):
                issues.append(("keras-optimizer-lr", {"arg": arg}))
                rename(arg, "learning_rate")
        if decay := kw("decay"):
            issues.append(("keras-optimizer-decay", {}))
            kws.remove(decay)
            zero = isinstance(decay.value, ast.Constant) and not decay.value.value
            if not zero:
                lr = kw("learning_rate")
                initial = ast.unparse(lr.value) if lr else repr(_OPTIMIZERS[name])
                sched = _expr(
                    f"keras.optimizers.schedules.InverseTimeDecay({initial}, "
                    f"decay_steps=1, decay_rate={ast.unparse(decay.value)})"
                )
                kws[:] = [k for k in kws if k.arg != "learning_rate"]
                kws.insert(0, ast.keyword("learning_rate", sched))
        eps = kw("epsilon")
        if eps and isinstance(eps.value, ast.Constant) and eps.value.value is None:
            issues.append(("keras-adam-epsilon-none", {}))
            kws[kws.index(eps)] = ast.keyword("epsilon", ast.Constant(1e-07))
    elif name in _KERAS_LAYERS:
        if kw("output_dim"):
            issues.append(("keras-dense-output-dim", {}))
            rename("output_dim", "units")
        for old, new in _LAYER_RENAMES.items():
            if kw(old):
                issues.append(("keras-layer-init", {"arg": old, "renamed": new}))
                rename(old, new)
        shape = None
        for arg in ("input_dim", "input_shape"):
            if k := kw(arg):
                issues.append(("keras-input-arg", {"arg": arg}))
                shape = f"({ast.unparse(k.value)},)" if arg == "input_dim" else ast.unparse(k.value)
                kws.remove(k)
        if shape:
            call.keywords = kws
            inner = ast.unparse(call)
            model, later = parent or (None, False)
            if later:  # only the first layer's input shape counts: drop it here
                text = f"{model}.add({inner})" if model else inner
            elif model:
                text = f"{model}.add(keras.Input(shape={shape})); {model}.add({inner})"
            else:
                text = f"keras.Input(shape={shape}), {inner}"
            # A Name prints its id verbatim: the way to return two statements as one node.
            return ast.Name(text), issues
    elif isinstance(node.func, ast.Attribute):
        recv = ast.unparse(node.func.value)
        args = ", ".join(ast.unparse(a) for a in [*node.args, *kws])
        if name in ("fit", "fit_generator") and kw("nb_epoch"):
            issues.append(("keras-fit-nb-epoch", {}))
            rename("nb_epoch", "epochs")
        if (
            name == "compile"
            and (loss := kw("loss"))
            and isinstance(loss.value, ast.Constant)
            and isinstance(loss.value.value, str)
            and " " in loss.value.value.strip()
        ):
            issues.append(("keras-loss-space", {}))
            fixed = re.sub(r"\s+", "_", loss.value.value.strip()).lower()
            kws[kws.index(loss)] = ast.keyword("loss", ast.Constant(fixed))
        if name == "predict_classes":
            issues.append(("keras-predict-classes", {}))
            binary = s.last_activation == "sigmoid"
            return _expr(
                f"({recv}.predict({args}) > 0.5).astype('int32')"
                if binary
                else f"np.argmax({recv}.predict({args}), axis=-1)"
            ), issues
        if name in _GENERATOR_METHODS:
            issues.append(("keras-generator-methods", {"arg": name, "renamed": _GENERATOR_METHODS[name]}))
            return _expr(f"{recv}.{_GENERATOR_METHODS[name]}({args})"), issues
        parts = _dotted(node.func)
        resolved = s.resolve_tf(parts) if parts else None
        if resolved and resolved[0] == "v2" and kw("reduction_indices"):
            issues.append(("tf-reduction-indices", {}))
            rename("reduction_indices", "axis")
        if resolved and resolved[1] == "layers.dense":
            issues.append(("tf-layers-keras3", {}))
            inputs = node.args[0] if node.args else getattr(kw("inputs"), "value", ast.Name("x"))
            units = node.args[1:2] or ([kw("units").value] if kw("units") else [])
            rest = [k for k in kws if k.arg not in ("inputs", "units")]
            dense = ast.Call(_expr("keras.layers.Dense"), units, rest)
            return ast.Call(dense, [inputs], []), issues
    call.keywords = kws
    return call, issues


class _Modernizer(ast.NodeTransformer):
    def __init__(self, scanner: _Scanner, root: ast.Call, parent: tuple[str | None, bool] | None) -> None:
        self.s, self.root, self.parent = scanner, root, parent

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        return _fix_call(node, self.s, self.parent if node is self.root else None)[0]


def _modernize(node: ast.Call, s: _Scanner, parent: tuple[str | None, bool] | None) -> str:
    """The whole call with every old argument in it (nested calls too) written the modern way."""
    twin = copy.deepcopy(node)
    return _oneline(ast.unparse(_Modernizer(s, twin, parent).visit(twin)))


# -- source preparation ----------------------------------------------------------------------
def _blank_ipython(source: str) -> str:
    """Blank IPython-only lines (`%magic`, `!shell`) so that the rest parses as Python."""
    lines = source.split("\n")
    first = lines[0].strip() if lines else ""
    if first.startswith("%%"):
        if first[2:].split(" ")[0] not in _PYTHON_CELL_MAGICS:
            return ""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in lines)


def _try_parse(text: str, mode: str = "exec") -> ast.AST | None:
    try:
        return ast.parse(text, mode=mode)
    except _AST_FAILURES:
        return None


def _cut(source: str, limit: int) -> str:
    """The first `limit` characters of `source`, ending at a line's end."""
    if len(source) <= limit:
        return source
    head = source[:limit]
    return head[: head.rfind("\n") + 1] if "\n" in head else ""


def _parse_with_repair(text: str) -> tuple[ast.Module, set[int]]:
    """Parse, blanking the line a SyntaxError points at until the rest parses, at most
    MAX_REPAIRS times (each try parses the whole cell again); past that, or when the parser
    gives up for another reason, every line is read on its own.

    Returns the tree and the 1-based numbers of the blanked lines, to be read on their own.
    """
    lines = text.split("\n")
    bad: set[int] = set()
    for _ in range(min(len(lines), MAX_REPAIRS) + 1):
        try:
            return ast.parse("\n".join(lines)), bad
        except SyntaxError as err:
            n = min(max(err.lineno or len(lines), 1), len(lines))
            candidates = [i for i in [*range(n, 0, -1), *range(n + 1, len(lines) + 1)] if lines[i - 1].strip()]
            if not candidates:
                break
            bad.add(candidates[0])
            lines[candidates[0] - 1] = ""
        except (ValueError, RecursionError, MemoryError):  # NUL bytes, a 3,000-term sum: line by line
            break
    every = {i for i, ln in enumerate(text.split("\n"), 1) if ln.strip()}
    return ast.Module(body=[], type_ignores=[]), every


def _strip_comment(line: str) -> str:
    """The line up to a `#` that is not inside a string literal."""
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote and line[i - 1] != "\\":
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def _call_fragments(text: str) -> list[str]:
    """Ways to read `name(...` at the start of text as one call: balanced, or closed by force."""
    depth, quote = 0, ""
    commas: list[int] = []
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote and text[i - 1] != "\\" else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return [text[: i + 1]]
        elif ch == "," and depth == 1:
            commas.append(i)
    # Unclosed, as in a truncated line: close it, or drop the last (cut-off) argument and close.
    closers = ")" * max(depth, 1)
    return [text + closers] + ([text[: commas[-1]] + ")"] if commas else [])


# -- public API ------------------------------------------------------------------------------
def scan_notebook(sources: Sequence[str], ids: Sequence[str] | None = None) -> list[Finding]:
    """Findings for the code cells of one notebook, read in order.

    How `tf` was imported and whether `tf.disable_v2_behavior()` ran carry over from cell to
    cell, so TF1 calls after `import tensorflow.compat.v1 as tf` are not flagged. `cell` is
    `ids[i]` when ids are given, else the position in `sources` as a string.
    """
    scanner = _Scanner()
    found: list[Finding] = []
    room = MAX_SCAN_CHARS
    for i, source in enumerate(sources):
        if room <= 0:
            break
        source = _cut(source, room)
        room -= max(len(source), 1)
        found += scanner.scan_cell(source, ids[i] if ids is not None else str(i))
    return found


def scan_source(source: str) -> list[Finding]:
    """Findings for one piece of code (a cell, or a whole notebook's code joined).

    A `tf` that the code never imports is taken to be `import tensorflow as tf`.
    """
    return _Scanner().scan_cell(source, None)


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _cell_code(traceback: str) -> tuple[str, int] | None:
    """The student's lines shown in the last IPython `Cell In[n]` frame, and the arrow line."""
    frames = re.split(r"\n(?=Cell In\[|File |Input In \[)", traceback)
    cells = [f for f in frames if f.startswith(("Cell In[", "Input In ["))]
    if not cells:
        return None
    lines: dict[int, str] = {}
    arrow = 0
    for m in re.finditer(r"^(-*>)?\s*(\d+) ?(.*)$", cells[-1], re.M):
        lines[int(m.group(2))] = m.group(3)
        arrow = int(m.group(2)) if m.group(1) else arrow
    if not lines:
        return None
    return "\n".join(lines.get(i, "") for i in range(1, max(lines) + 1)), arrow


def _error_findings(text: str, tb: str) -> list[Finding]:
    """Findings from `ename: evalue` alone, with generic old/new."""
    out: list[Finding] = []

    def add(code: str, old: str, new: str, **fields: str) -> None:
        out.append(_finding(code, old, new, source="error", **fields))

    no_attr = r"module '(tensorflow(?:\._api\.v2)?(?:\.[\w.]+)?)' has no attribute '(\w+)'"
    if m := re.search(no_attr, text):
        module = re.sub(r"^tensorflow(\._api\.v2)?\.?", "", m.group(1))
        path = f"{module}.{m.group(2)}" if module else m.group(2)
        if path in _TF1_ONLY:
            add("tf1-api", f"tf.{path}", _TF1_FIX, names=f"`tf.{path}`")
        elif path in _TF_KERAS3_PREFIXES:
            add("tf-layers-keras3", f"tf.{path}", "keras.layers")
    if m := re.search(r"(tf\.\w+)\(\) is not compatible with eager execution", text):
        add("tf-eager-placeholder", f"{m.group(1)}()", "tf.disable_v2_behavior()")
    if m := re.search(r"`(\w+)` is not available with Keras 3", text):
        name = m.group(1)
        where = "tf.layers" if name[0].islower() else "tf.nn.rnn_cell"
        add("tf-layers-keras3", f"{where}.{name}", f"keras.layers.{_TF_TO_KERAS.get(name, name)}")
    if m := re.search(r"unexpected keyword argument 'reduction_indices'", text):
        add("tf-reduction-indices", "reduction_indices=", "axis=")
    if m := re.search(r"No module named '([\w.]+)'", text):
        module = m.group(1)
        if module in ("MNIST_data", "dataset") or (module == "data" and "mnist" in tb.lower()):
            module += ".mnist"
        if module == "keras.utils.np_utils":
            add("keras-np-utils", "keras.utils.np_utils", "from keras.utils import to_categorical", arg=module)
        elif move := _module_move(module, ""):
            add(move[0], module, move[1], arg=module)
    if re.search(r"cannot import name 'np_utils'|has no attribute 'np_utils'", text):
        add("keras-np-utils", "np_utils", "from keras.utils import to_categorical", arg="keras.utils.np_utils")
    if m := re.search(r"Argument\(s\) not recognized: (\{.*\})", text):
        for arg, value in _literal_dict(m.group(1)).items():
            if arg in ("lr", "Ir"):
                add("keras-optimizer-lr", f"{arg}={value!r}", f"learning_rate={value!r}", arg=arg)
    if m := re.search(r"Unrecognized keyword arguments passed to (\w+): (\{.*\})", text):
        for arg, value in _literal_dict(m.group(2)).items():
            if arg == "output_dim":
                add("keras-dense-output-dim", f"output_dim={value!r}", f"units={value!r}")
            elif arg in _LAYER_RENAMES:
                add(
                    "keras-layer-init",
                    f"{arg}={value!r}",
                    f"{_LAYER_RENAMES[arg]}={value!r}",
                    arg=arg,
                    renamed=_LAYER_RENAMES[arg],
                )
    if m := re.search(r"(\w+)\.__init__\(\) missing 1 required positional argument: 'units'", text):
        add("keras-dense-output-dim", f"{m.group(1)}(output_dim=...)", f"{m.group(1)}(units=...)")
    if re.search(r"unexpected keyword argument 'nb_epoch'", text):
        add("keras-fit-nb-epoch", "nb_epoch=", "epochs=")
    if m := re.fullmatch(r"KeyError: '((?:val_)?acc)'", text.strip()):
        add("keras-history-acc", f"history.history['{m.group(1)}']", f"history.history['{m.group(1)}uracy']")
    if m := re.search(r"Could not interpret loss identifier: (.+)", text):
        loss = m.group(1).strip().strip("'\"")
        if " " in loss:
            add("keras-loss-space", repr(loss), repr(re.sub(r"\s+", "_", loss).lower()))
    if m := re.search(r"object has no attribute '(predict_classes|\w+_generator)'", text):
        if m.group(1) == "predict_classes":
            add("keras-predict-classes", "model.predict_classes(x)", "np.argmax(model.predict(x), axis=-1)")
        elif m.group(1) in _GENERATOR_METHODS:
            renamed = _GENERATOR_METHODS[m.group(1)]
            add(
                "keras-generator-methods",
                f"model.{m.group(1)}(...)",
                f"model.{renamed}(...)",
                arg=m.group(1),
                renamed=renamed,
            )
    if re.search(r"'\w+' object has no attribute 'output_shape'", text):
        add("keras-output-shape", "layer.output_shape", "layer.output.shape")
    if "None values not supported" in text and re.search(r"epsilon\s*=\s*None", tb):
        add("keras-adam-epsilon-none", "epsilon=None", "epsilon=1e-07")
    # Warnings, for callers that also feed the kernel's warnings (ename "UserWarning").
    if "Argument `decay` is no longer supported" in text:
        add("keras-optimizer-decay", "decay=...", "learning_rate=keras.optimizers.schedules.InverseTimeDecay(...)")
    if "Do not pass an `input_shape`/`input_dim` argument to a layer" in text:
        add("keras-input-arg", "input_dim=...", "keras.Input(shape=(...,))", arg="input_dim")
    return out


def _literal_dict(text: str) -> dict:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
        # Values such as <Tensor ...> are not literals: keep the keys at least.
        return {k: "..." for k in re.findall(r"'(\w+)':", text)}
    return value if isinstance(value, dict) else {}


def diagnose_error(ename: str, evalue: str, traceback: list[str] | str = "") -> list[Finding]:
    """Findings for an error a cell raised, from the texts the kernel reports.

    `traceback` is the kernel's list of (ANSI-coloured) lines or one string. When it shows the
    student's cell, the finding gets that cell's line and its exact old and new call.
    """
    tb = _ANSI.sub("", "\n".join(traceback) if isinstance(traceback, list) else traceback)
    found = _error_findings(f"{ename}: {evalue}", tb)
    shown = _cell_code(tb) if found else None
    if not shown:
        return found
    code, arrow = shown
    from_code = _Scanner().scan_cell(code, None)
    refined = []
    for f in found:
        same = [g for g in from_code if g.code == f.code]
        best = min(same, key=lambda g: abs((g.line or 0) - arrow), default=None)
        # Without a matching call in the shown lines, the arrow still marks the failing line.
        refined.append(
            Finding(f.code, best.old, best.new, best.message, best.line, f.cell, "error", best.args)
            if best
            else replace(f, line=arrow or None)
        )
    return refined


def findings_to_checks(findings: Sequence[Finding], lang: str = "en") -> list[CheckResult]:
    """Checks of kind "legacy-api": status PASS, 0 of 0 points, `hint` = the modern call.

    PASS because an old call is not by itself a mistake: `PartResult.status` skips this kind, and
    when the old call breaks the exercise the exercise's own checks fail. An error finding is
    dropped when the scan found the same code in the same cell (the scan knows the line).
    """
    scanned = {(f.code, f.cell) for f in findings if f.source == "scan"}
    seen: set[tuple] = set()
    checks = []
    for f in findings:
        if len(checks) >= MAX_FINDINGS:  # hints, not verdicts: the first ones say what to fix
            break
        key = (f.code, f.old, f.line, f.cell)
        if key in seen or (f.source == "error" and (f.code, f.cell) in scanned):
            continue
        seen.add(key)
        where = ", ".join(
            p for p in (f"cell {f.cell}" if f.cell is not None else "", f"line {f.line}" if f.line else "") if p
        )
        checks.append(
            CheckResult(
                name=f"legacy-api/{f.code}" + (f" ({where})" if where else ""),
                status=Status.PASS,
                score=0.0,
                max_score=0.0,
                message=f.message.get(lang) or f.message["en"],
                hint=f.new,
                kind="legacy-api",
                message_key=f"legacy.{f.code}",
                message_args={
                    **f.args,
                    "old": f.old,
                    "new": f.new,
                    "line": f.line,
                    "cell": f.cell,
                    "source": f.source,
                },  # all of the message's fields: reports re-render it
            )
        )
    return checks
