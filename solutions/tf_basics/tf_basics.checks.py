"""Checks of "TensorFlow: constant, placeholder, variables": values, dtypes and shapes of the
constants, a placeholder that gives back what the grader feeds it, and a variable that an assign op
multiplies by 10. Values are read in fresh Sessions the grader opens, not from printed output."""

from grader.assignment import Limits, Part, Setup
from grader.checks import Equals, Shape
from grader.inside import kernel  # the helpers export functions call; in the student's kernel too

SETUP = Setup(framework="tf1", limits=Limits(cell_timeout_s=60, notebook_timeout_s=180))

# Exactly representable in float32, so the fed-back values compare equal.
PROBE = [[0.25, -1.5, 3.0], [7.0, 0.125, -2.0]]


# Exports: each runs in the student's kernel after the part's cells, called with the student's
# variables its parameters name; what it returns is saved as data for the checks below.


def a(a):
    import tensorflow.compat.v1 as tf

    return tf.Session().run(a)


def b(b):
    import tensorflow.compat.v1 as tf

    return tf.Session().run(b)


def c(c):
    import tensorflow.compat.v1 as tf

    return tf.Session().run(c)


def a_dtype(a):
    return kernel.dtype(a)


def b_dtype(b):
    return kernel.dtype(b)


def c_dtype(c):
    return kernel.dtype(c)


def a_shape(a):
    return kernel.shape(a)


def b_shape(b):
    return kernel.shape(b)


def c_shape(c):
    return kernel.shape(c)


def x_shape(x):
    return kernel.shape(x)


def x_dtype(x):
    return kernel.dtype(x)


def x_fed(x, probe=PROBE):
    import tensorflow.compat.v1 as tf

    return tf.Session().run(x, feed_dict={x: probe})


def values(update_x, values):
    """The values the cell printed; update_x exists only when the cell above ran, so no stale x
    from the placeholder part is read."""
    return values


def rerun(x, update_x):
    """A fresh Session, initialise x, then x, update_x, update_x, update_x: 1, 10, 100, 1000."""
    import tensorflow.compat.v1 as tf

    s = tf.Session()
    s.run(x.initializer)
    return [s.run(x)] + [s.run(update_x) for _ in range(3)]


PARTS = [
    Part(
        id="basics_constant",
        title={"en": "constant", "ja": "定数 (constant)"},
        cells=["basics_const"],
        after="basics_const_run",
        exports=[a, b, c, a_dtype, b_dtype, c_dtype, a_shape, b_shape, c_shape],
        checks=[
            Equals("value of a", 1, export="a", expected=1, hint="a = tf.constant(1)"),
            Equals(
                "dtype of a",
                0.5,
                expected="int32",
                export="a_dtype",
                hint={
                    "en": "an integer literal makes an int32 constant",
                    "ja": "整数リテラルからは int32 の定数ができます",
                },
            ),
            Shape(
                "a",
                0.5,
                expected=[],
                hint={"en": "a single number is a scalar: shape []", "ja": "数 1 つはスカラーです: shape []"},
            ),
            Equals(
                "value of b",
                1,
                export="b",
                expected=[[2.0, 2.0]] * 3,
                hint={
                    "en": "tf.constant(2, dtype=tf.float32, shape=[3, 2]) fills every element with 2",
                    "ja": "tf.constant(2, dtype=tf.float32, shape=[3, 2]) はすべての要素を 2 で埋めます",
                },
            ),
            Equals("dtype of b", 0.5, expected="float32", export="b_dtype", hint="dtype=tf.float32"),
            Shape(
                "b",
                0.5,
                expected=[3, 2],
                hint={"en": "shape=[3, 2]: 3 rows, 2 columns", "ja": "shape=[3, 2]: 3 行 2 列"},
            ),
            Equals(
                "value of c",
                1,
                export="c",
                expected=[[0.0, 1.0], [2.0, 3.0]],
                hint={"en": "np.arange(4) reshaped to [2, 2]", "ja": "np.arange(4) を [2, 2] に reshape したもの"},
            ),
            Equals(
                "dtype of c",
                0.5,
                expected="float32",
                export="c_dtype",
                hint={
                    "en": "np.arange gives integers: pass dtype=tf.float32",
                    "ja": "np.arange は整数を返します: dtype=tf.float32 を指定してください",
                },
            ),
            Shape("c", 0.5, expected=[2, 2], hint="shape=[2, 2]"),
        ],
    ),
    Part(
        id="basics_placeholder",
        title={"en": "placeholder", "ja": "プレースホルダー (placeholder)"},
        cells=["basics_placeholder"],
        after="basics_placeholder_run",
        exports=[x_shape, x_dtype, x_fed],
        checks=[
            Shape(
                "x",
                1,
                expected=[None, 3],
                hint={
                    "en": "shape=[None, 3]: None lets any number of rows be fed",
                    "ja": "shape=[None, 3]: None にすると何行でも与えられます",
                },
            ),
            Equals("dtype of x", 1, expected="float32", export="x_dtype", hint="dtype=tf.float32"),
            Equals(
                "x fed with 2 rows of the grader's data",
                2,
                expected=PROBE,
                export="x_fed",
                hint={
                    "en": "sess.run(x, feed_dict={x: data}) must give data back: float32, 3 columns, any number of rows",
                    "ja": "sess.run(x, feed_dict={x: data}) は data をそのまま返す必要があります: float32、3 列、行数は任意",
                },
            ),
        ],
    ),
    Part(
        id="basics_variable",
        title={"en": "Variable and assign", "ja": "変数 (Variable) と assign"},
        cells=["basics_variable"],
        after="basics_variable_run",
        exports={"values": values, "rerun": rerun, "x_dtype": x_dtype},
        checks=[
            Equals(
                "values printed: x, after update_x, after update_x again",
                2,
                expected=[1, 10, 100],
                export="values",
                hint={
                    "en": "x starts at 1 and update_x = tf.assign(x, x * a) multiplies it by a = 10",
                    "ja": "x は 1 から始まり、update_x = tf.assign(x, x * a) で a = 10 倍されます",
                },
            ),
            Equals(
                "x then three runs of update_x in a fresh Session",
                2,
                expected=[1, 10, 100, 1000],
                export="rerun",
                hint={
                    "en": "update_x must be the op returned by tf.assign(x, x * a), so each run stores the new value in x",
                    "ja": "update_x は tf.assign(x, x * a) が返す op にします。そうすれば実行のたびに新しい値が x に保存されます",
                },
            ),
            Equals(
                "dtype of x",
                0.5,
                expected="int32",
                export="x_dtype",
                hint={
                    "en": "tf.Variable(1) holds an int32, like a",
                    "ja": "tf.Variable(1) は a と同じく int32 を保持します",
                },
            ),
        ],
    ),
]

MUTANTS = {
    "const_a_float": {
        "basics_const": "a = tf.constant(1.0)\nb = tf.constant(2, dtype=tf.float32, shape=[3, 2])\n"
        "c = tf.constant(np.arange(4), dtype=tf.float32, shape=[2, 2])"
    },
    "const_b_wrong_shape": {
        "basics_const": "a = tf.constant(1)\nb = tf.constant(2, dtype=tf.float32, shape=[2, 3])\n"
        "c = tf.constant(np.arange(4), dtype=tf.float32, shape=[2, 2])"
    },
    "const_c_no_dtype": {
        "basics_const": "a = tf.constant(1)\nb = tf.constant(2, dtype=tf.float32, shape=[3, 2])\n"
        "c = tf.constant(np.arange(4), shape=[2, 2])"
    },
    "placeholder_int": {"basics_placeholder": "x = tf.placeholder(dtype=tf.int32, shape=[None, 3])"},
    "placeholder_one_row": {"basics_placeholder": "x = tf.placeholder(dtype=tf.float32, shape=[1, 3])"},
    "variable_add": {"basics_variable": "x = tf.Variable(1)\nupdate_x = tf.assign(x, x + a)"},
    "variable_no_assign": {"basics_variable": "x = tf.Variable(1)\nupdate_x = x * a"},
    "variable_starts_at_10": {"basics_variable": "x = tf.Variable(10)\nupdate_x = tf.assign(x, x * a)"},
}
