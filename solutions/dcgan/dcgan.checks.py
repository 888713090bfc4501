"""Checks of "DCGAN": the generator's and the discriminator's layers and output shapes, and the
training steps, judged by what they do to the discriminator's outputs on a fixed batch.

The locked measuring cell records the discriminator's logits on 64 real images and on the
images the generator makes from fixed noise: before, after 5 discriminator steps, and after 5
more generator steps. The losses are computed here from those logits with the standard
labels (real 1, fake 0; the generator wants 1), so a student's own loss function cannot hide
swapped labels: the discriminator's loss must drop after its steps and the generator's after
its own, by at least the calibrated amount.

The loss functions are also called, in the student's kernel, on fixed logit batches (`PROBES`:
batches where only the fake half or only the real half changes) and compared with the formula
here: a loss that leaves out a term, swaps a label or takes logits for probabilities loses those
points whatever the training steps did. A constant factor (mean or sum over the batch, half the
sum) is accepted.
"""

import numpy as np

from grader.assignment import Limits, Part, Setup
from grader.checks import Calibrated, Diverged, Formula, LayerSpecs, PredictionError, Shape
from grader.inside import kernel  # the helpers export functions call; in the student's kernel too

# A correct step's drop varies with the seed and with details the instructions leave open
# (e.g. the generator in inference mode inside the discriminator's step drops the losses by
# about 15 % less), so the pass lines keep a 25 % margin below the reference.
SETUP = Setup(
    framework="keras",
    limits=Limits(cell_timeout_s=120, notebook_timeout_s=300),
    slack={"dcgan_d_loss_drop": (0.25, 0.0), "dcgan_g_loss_drop": (0.25, 0.0)},
)

BATCH = 64

GENERATOR = [
    {"class": "Dense", "output_shape": [None, 6272], "units": 6272},
    {"class": "BatchNormalization", "output_shape": [None, 6272]},
    {"class": "LeakyReLU", "output_shape": [None, 6272]},
    {"class": "Reshape", "output_shape": [None, 7, 7, 128]},
    {"class": "Conv2DTranspose", "output_shape": [None, 14, 14, 64], "units": 64},
    {"class": "BatchNormalization", "output_shape": [None, 14, 14, 64]},
    {"class": "LeakyReLU", "output_shape": [None, 14, 14, 64]},
    {"class": "Conv2DTranspose", "output_shape": [None, 28, 28, 1], "units": 1, "activation": "tanh"},
]

DISCRIMINATOR = [
    {"class": "Conv2D", "output_shape": [None, 14, 14, 64], "units": 64},
    {"class": "LeakyReLU", "output_shape": [None, 14, 14, 64]},
    {"class": "Dropout", "output_shape": [None, 14, 14, 64]},
    {"class": "Conv2D", "output_shape": [None, 7, 7, 128], "units": 128},
    {"class": "LeakyReLU", "output_shape": [None, 7, 7, 128]},
    {"class": "Dropout", "output_shape": [None, 7, 7, 128]},
    {"class": "Flatten", "output_shape": [None, 6272]},
    {"class": "Dense", "output_shape": [None, 1], "units": 1, "activation": "linear"},
]


def _logits(values: dict, name: str) -> np.ndarray:
    z = np.asarray(values[name], dtype=np.float64)
    if z.shape != (BATCH, 1):
        raise PredictionError(f"{name} has shape {list(z.shape)}; the discriminator must give [{BATCH}, 1]")
    if not np.all(np.isfinite(z)):
        raise Diverged("nan" if np.any(np.isnan(z)) else "inf")
    return z


def _bce(logits: np.ndarray, label: int) -> float:
    """Binary cross entropy of logits against one label, as BinaryCrossentropy(from_logits=True)."""
    return float(np.mean(np.logaddexp(0.0, -logits if label == 1 else logits)))


def discriminator_loss_drop(values: dict, ctx) -> float:
    before = _bce(_logits(values, "real_0"), 1) + _bce(_logits(values, "fake_0"), 0)
    after = _bce(_logits(values, "real_1"), 1) + _bce(_logits(values, "fake_1"), 0)
    return before - after


def generator_loss_drop(values: dict, ctx) -> float:
    return _bce(_logits(values, "fake_1"), 1) - _bce(_logits(values, "fake_2"), 1)


def _softplus_mean(x) -> float:
    return float(np.mean(np.logaddexp(0.0, np.asarray(x, dtype=np.float64))))


def discriminator_formula(real, fake) -> float:
    """Binary cross entropy from logits: real labelled 1, fake labelled 0."""
    return _softplus_mean(-np.asarray(real, dtype=np.float64)) + _softplus_mean(fake)


def generator_formula(fake) -> float:
    """Binary cross entropy from logits of the generated images labelled 1 (real)."""
    return _softplus_mean(-np.asarray(fake, dtype=np.float64))


def _column(*values: float) -> list:
    """A batch of BATCH logits shaped as the discriminator gives them, the values repeated: a loss
    that makes its labels with the notebook's batch_size still fits."""
    return [[float(v)] for v in values] * (BATCH // len(values))


_ZEROS = _column(0, 0, 0, 0)
# (real_output, fake_output): equal logits, only the fake half changed, only the real half
# changed, both, and a discriminator that already tells them apart. Left out terms, swapped labels
# and a sign flip each give values no constant multiple of the formula's.
D_PROBES = [
    (_ZEROS, _ZEROS),
    (_ZEROS, _column(2, -1, 3, 0.5)),
    (_column(1.5, -2, 0.5, 4), _ZEROS),
    (_column(-1, 2, 0.3, -0.7), _column(1, -3, -0.2, 2.5)),
    (_column(3, 1, 2, 0.5), _column(-2, -1, -3, -0.5)),
]
G_PROBES = [(_ZEROS,), (_column(2, -1, 3, 0.5),), (_column(-2, -1, -3, -0.5),), (_column(1, -3, -0.2, 2.5),)]
LOSS_SCALE = (0.01, 100.0)  # mean (the course's) or sum over a batch of 64, 0.5 * (real + fake)

D_WRONG = {
    "no_fake_term": (
        lambda r, f: _softplus_mean(-np.asarray(r, dtype=np.float64)),
        {
            "en": "only the real images' term (the fake images' term, label 0, is missing)",
            "ja": "本物の画像の項だけ (生成画像の項、正解 0、がありません)",
        },
    ),
    "no_real_term": (
        lambda r, f: _softplus_mean(f),
        {
            "en": "only the generated images' term (the real images' term, label 1, is missing)",
            "ja": "生成画像の項だけ (本物の画像の項、正解 1、がありません)",
        },
    ),
    "swapped_labels": (
        lambda r, f: discriminator_formula(f, r),
        {
            "en": "the loss with swapped labels (real 0, generated 1)",
            "ja": "ラベルを入れ替えた誤差 (本物 0、生成画像 1)",
        },
    ),
    "fake_term_subtracted": (
        lambda r, f: _softplus_mean(-np.asarray(r, dtype=np.float64)) - _softplus_mean(f),
        {
            "en": "the real term minus the fake term (the two terms must be added)",
            "ja": "本物の項から生成画像の項を引いた値 (2 つの項は足します)",
        },
    ),
}
G_WRONG = {
    "label_0": (
        lambda f: _softplus_mean(f),
        {
            "en": "the cross entropy with label 0 (the generator wants its images labelled 1, real)",
            "ja": "正解 0 の交差エントロピー (生成器は生成画像を 1、本物と判定させたい)",
        },
    ),
    "saturating": (
        lambda f: -_softplus_mean(f),
        {
            "en": "log(1 - D(G(z))), the saturating form (the course's loss labels generated images 1)",
            "ja": "log(1 - D(G(z))) (飽和する形です。この講座の誤差は生成画像の正解を 1 とします)",
        },
    ),
}

# Exports: each runs in the student's kernel after its part's cells, called with the student's
# variables its parameters name; what it returns is saved as data, all the checks below see.


def d_loss_probe(discriminator_loss, probes=D_PROBES):
    """The student's discriminator_loss on the fixed logits the Formula check computes too."""
    return kernel.probe(discriminator_loss, probes)


def g_loss_probe(generator_loss, probes=G_PROBES):
    return kernel.probe(generator_loss, probes)


def gen_specs(generator):
    return kernel.layer_specs(generator)


def gen_out_shape(generator, sample_noise):
    return kernel.shape(generator(sample_noise, training=False))


def disc_specs(discriminator):
    return kernel.layer_specs(discriminator)


def disc_out_shape(discriminator, x_train):
    return kernel.shape(discriminator(x_train[:16], training=False))


def real_0(real_0):
    return real_0


def fake_0(fake_0):
    return fake_0


def real_1(real_1):
    return real_1


def fake_1(fake_1):
    return fake_1


def fake_2(fake_2):
    return fake_2


PARTS = [
    Part(
        id="dcgan_generator",
        title={"en": "Generator", "ja": "生成器"},
        cells=["dcgan_gen"],
        exports=[gen_specs, gen_out_shape],
        checks=[
            LayerSpecs(
                "generator layers",
                2,
                expected=GENERATOR,
                export="gen_specs",
                hint={
                    "en": "follow the table: two Conv2DTranspose with strides=2 (7 -> 14 -> 28), the last with activation='tanh'",
                    "ja": "表のとおりに: strides=2 の Conv2DTranspose を 2 つ (7 -> 14 -> 28)、最後は activation='tanh' です",
                },
            ),
            Shape(
                "generator(noise)",
                1,
                expected=[16, 28, 28, 1],
                export="gen_out_shape",
                hint={
                    "en": "16 noise vectors must give 16 images of 28x28x1",
                    "ja": "16 個のノイズベクトルから 28x28x1 の画像が 16 枚できるはずです",
                },
            ),
        ],
    ),
    Part(
        id="dcgan_discriminator",
        title={"en": "Discriminator", "ja": "識別器"},
        cells=["dcgan_disc"],
        exports=[disc_specs, disc_out_shape],
        checks=[
            LayerSpecs(
                "discriminator layers",
                2,
                expected=DISCRIMINATOR,
                export="disc_specs",
                hint={
                    "en": "follow the table: Conv2D with strides=2 (28 -> 14 -> 7), Flatten, Dense(1) without activation (a logit)",
                    "ja": "表のとおりに: strides=2 の Conv2D (28 -> 14 -> 7)、Flatten、活性化なしの Dense(1) (ロジット) です",
                },
            ),
            Shape(
                "discriminator(images)",
                1,
                expected=[16, 1],
                export="disc_out_shape",
                hint={"en": "one logit per image", "ja": "画像 1 枚につきロジット 1 つです"},
            ),
        ],
    ),
    Part(
        id="dcgan_losses",
        title={"en": "Loss functions", "ja": "誤差関数"},
        cells=["dcgan_losses"],
        exports=[d_loss_probe, g_loss_probe],
        checks=[
            Formula(
                "discriminator_loss on fixed logits",
                2,
                export="d_loss_probe",
                formula=discriminator_formula,
                probes=D_PROBES,
                labels=("real_output", "fake_output"),
                scale=LOSS_SCALE,
                wrong=D_WRONG,
                hint={
                    "en": "add cross_entropy(tf.ones_like(real_output), real_output) and "
                    "cross_entropy(tf.zeros_like(fake_output), fake_output)",
                    "ja": "cross_entropy(tf.ones_like(real_output), real_output) と "
                    "cross_entropy(tf.zeros_like(fake_output), fake_output) を足します",
                },
            ),
            Formula(
                "generator_loss on fixed logits",
                1,
                export="g_loss_probe",
                formula=generator_formula,
                probes=G_PROBES,
                labels=("fake_output",),
                scale=LOSS_SCALE,
                wrong=G_WRONG,
                hint={
                    "en": "cross_entropy(tf.ones_like(fake_output), fake_output)",
                    "ja": "cross_entropy(tf.ones_like(fake_output), fake_output) です",
                },
            ),
        ],
    ),
    Part(
        id="dcgan_training",
        title={"en": "Losses and training steps", "ja": "誤差と学習ステップ"},
        cells=["dcgan_losses", "dcgan_steps"],
        after="dcgan_measure",
        exports=[real_0, fake_0, real_1, fake_1, fake_2],
        checks=[
            Calibrated(
                "discriminator loss drop after 5 discriminator steps",
                2,
                metric="dcgan_d_loss_drop",
                compute=discriminator_loss_drop,
                uses=("real_0", "fake_0", "real_1", "fake_1"),
                hint={
                    "en": "label real images 1 and generated images 0, and update discriminator.trainable_variables "
                    "with discriminator_optimizer",
                    "ja": "本物の画像のラベルを 1、生成画像を 0 とし、discriminator_optimizer で "
                    "discriminator.trainable_variables を更新します",
                },
            ),
            Calibrated(
                "generator loss drop after 5 generator steps",
                2,
                metric="dcgan_g_loss_drop",
                compute=generator_loss_drop,
                uses=("fake_1", "fake_2"),
                hint={
                    "en": "the generator's loss labels generated images 1 (real); update generator.trainable_variables "
                    "with generator_optimizer",
                    "ja": "生成器の誤差では生成画像のラベルを 1 (本物) にします。generator_optimizer で "
                    "generator.trainable_variables を更新します",
                },
            ),
        ],
    ),
]

_GEN = """def make_generator_model():
    return keras.Sequential([
        keras.Input(shape=(noise_dim,)),
        layers.Dense(7 * 7 * 128, use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(0.2),
        layers.Reshape((7, 7, 128)),
        layers.Conv2DTranspose(64, 5, strides=2, padding='same', use_bias=False),
        layers.BatchNormalization(),
        layers.LeakyReLU(0.2),
        layers.Conv2DTranspose(1, 5, strides={last_stride}, padding='same'{activation}),
    ])


generator = make_generator_model()
"""

_DISC = """def make_discriminator_model():
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(64, 5, strides={stride}, padding='same'),
        layers.LeakyReLU(0.2),
        layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides={stride}, padding='same'),
        layers.LeakyReLU(0.2),
        layers.Dropout(0.3),
        layers.Flatten(),
        layers.Dense(1{activation}),
    ])


discriminator = make_discriminator_model()
"""

_LOSSES = """def discriminator_loss(real_output, fake_output):
    return cross_entropy({real}(real_output), real_output) + cross_entropy({fake}(fake_output), fake_output)


def generator_loss(fake_output):
    return cross_entropy({gen}(fake_output), fake_output)
"""

# A loss that leaves out the generated images' term still lowers its own value; the fixed-input
# check is what must catch it.
_NO_FAKE_TERM = """def discriminator_loss(real_output, fake_output):
    return cross_entropy(tf.ones_like(real_output), real_output)


def generator_loss(fake_output):
    return cross_entropy(tf.ones_like(fake_output), fake_output)
"""

_STEPS = """def discriminator_step(images, noise):
    with tf.GradientTape() as tape:
        fake_output = discriminator(generator(noise, training=True), training=True)
        loss = discriminator_loss(discriminator(images, training=True), fake_output)
    grads = tape.gradient(loss, discriminator.trainable_variables)
    {apply}discriminator_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))
    return loss


def generator_step(noise):
    with tf.GradientTape() as tape:
        loss = generator_loss(discriminator(generator(noise, training=True), training=True))
    grads = tape.gradient(loss, generator.trainable_variables)
    {apply}generator_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
    return loss


def train_step(images):
    noise = np.random.normal(size=(len(images), noise_dim)).astype("float32")
    return float(discriminator_step(images, noise)), float(generator_step(noise))
"""

MUTANTS = {
    # dcgan_generator: 14x14 images (the last layer does not upsample), no tanh
    "gen_14x14": {"dcgan_gen": _GEN.format(last_stride=1, activation=", activation='tanh'")},
    "gen_no_tanh": {"dcgan_gen": _GEN.format(last_stride=2, activation="")},
    # dcgan_discriminator: a probability instead of a logit, no downsampling
    "disc_sigmoid": {"dcgan_disc": _DISC.format(stride=2, activation=", activation='sigmoid'")},
    "disc_no_stride": {"dcgan_disc": _DISC.format(stride=1, activation="")},
    # dcgan_training: swapped labels move the losses the wrong way; no update moves nothing
    "swapped_discriminator_labels": {
        "dcgan_losses": _LOSSES.format(real="tf.zeros_like", fake="tf.ones_like", gen="tf.ones_like")
    },
    "swapped_generator_label": {
        "dcgan_losses": _LOSSES.format(real="tf.ones_like", fake="tf.zeros_like", gen="tf.zeros_like")
    },
    # dcgan_losses: a term left out; the generator's label 0
    "discriminator_without_fake_term": {"dcgan_losses": _NO_FAKE_TERM},
    "no_update": {"dcgan_steps": _STEPS.format(apply="# forgot: ")},
}

# Checks that must lose their points in a mutant (tests/test_course.py): the fixed-input loss
# checks catch what the training curve may not.
MUTANT_LOSES = {
    "discriminator_without_fake_term": ["discriminator_loss on fixed logits"],
    "swapped_discriminator_labels": ["discriminator_loss on fixed logits"],
    "swapped_generator_label": ["generator_loss on fixed logits"],
}
