"""Checks of "DCGAN": the generator's and the discriminator's layers and output shapes, and the
training steps, judged by what they do to the discriminator's outputs on a fixed batch.

The locked measuring cell records the discriminator's logits on 64 real images and on the
images the generator makes from fixed noise: before, after 5 discriminator steps, and after 5
more generator steps. The losses are computed here from those logits with the standard
labels (real 1, fake 0; the generator wants 1), so a student's own loss function cannot hide
swapped labels: the discriminator's loss must drop after its steps and the generator's after
its own, by at least the calibrated amount.
"""
import numpy as np

from grader.checks import Calibrated, Diverged, LayerSpecs, PredictionError, Shape
from grader.spec import Part

# A correct step's drop varies with the seed and with details the instructions leave open
# (e.g. the generator in inference mode inside the discriminator's step drops the losses by
# about 15 % less), so the pass lines keep a 25 % margin below the reference.
SETUP = {
    "framework": "keras",
    "limits": {"cell_timeout_s": 120, "notebook_timeout_s": 300},
    "slack": {"dcgan_d_loss_drop": (0.25, 0.0), "dcgan_g_loss_drop": (0.25, 0.0)},
}

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


PARTS = [
    Part(
        id="dcgan_generator",
        title={"en": "Generator", "ja": "生成器"},
        cells=["dcgan_gen"],
        exports={
            "gen_specs": "_dlgrade_kernel.layer_specs(generator)",
            "gen_out_shape": "_dlgrade_kernel.shape(generator(sample_noise, training=False))",
        },
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
                hint={"en": "16 noise vectors must give 16 images of 28x28x1",
                      "ja": "16 個のノイズベクトルから 28x28x1 の画像が 16 枚できるはずです"},
            ),
        ],
    ),
    Part(
        id="dcgan_discriminator",
        title={"en": "Discriminator", "ja": "識別器"},
        cells=["dcgan_disc"],
        exports={
            "disc_specs": "_dlgrade_kernel.layer_specs(discriminator)",
            "disc_out_shape": "_dlgrade_kernel.shape(discriminator(x_train[:16], training=False))",
        },
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
        id="dcgan_training",
        title={"en": "Losses and training steps", "ja": "誤差と学習ステップ"},
        cells=["dcgan_losses", "dcgan_steps"],
        after="dcgan_measure",
        exports={name: name for name in ("real_0", "fake_0", "real_1", "fake_1", "fake_2")},
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
    "no_update": {"dcgan_steps": _STEPS.format(apply="# forgot: ")},
}
