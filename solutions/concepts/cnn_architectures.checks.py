"""Checks of "well-known CNN architectures": the course's check test (the features of VGG,
GoogLeNet and ResNet, three free-text answers scored by concept rubrics) and multiple-choice
questions on the same models. Answers are read from the notebook's markdown cells; rubrics and
answer keys live in `rubrics.json` beside this file, which students never get."""

from pathlib import Path

from grader.assignment import Limits, Part, Setup
from grader.checks import QuizAnswer
from grader.checks.quiz import load_rubrics

SETUP = Setup(framework="numpy", limits=Limits(cell_timeout_s=30, notebook_timeout_s=60))

RUBRICS = load_rubrics(Path(__file__).with_name("rubrics.json"))

# grade id of each question's answer cell (the markdown solution cell under the question)
FREE_TEXT = {
    "vgg": ("cnn_vgg_answer", {"en": "Features of VGG", "ja": "VGG の特徴"}),
    "googlenet": ("cnn_googlenet_answer", {"en": "Features of GoogLeNet", "ja": "GoogLeNet の特徴"}),
    "resnet": ("cnn_resnet_answer", {"en": "Features of ResNet", "ja": "ResNet の特徴"}),
}
CHOICES = {
    "cnn_mc_vgg_kernel": "cnn_mc_vgg_kernel_answer",
    "cnn_mc_googlenet_block": "cnn_mc_googlenet_block_answer",
    "cnn_mc_resnet_block_output": "cnn_mc_resnet_block_output_answer",
    "cnn_mc_1x1_roles": "cnn_mc_1x1_roles_answer",
    "cnn_mc_most_parameters": "cnn_mc_most_parameters_answer",
}


def _quiz(question: str, cell: str) -> QuizAnswer:
    item = RUBRICS[question]
    return QuizAnswer(question, item.points, cell=cell, item=item)


PARTS = [
    *[
        Part(id=f"cnn_{q}", title=title, cells=[], answers=[cell], checks=[_quiz(q, cell)])
        for q, (cell, title) in FREE_TEXT.items()
    ],
    Part(
        id="cnn_choice",
        title={"en": "Multiple choice", "ja": "選択問題"},
        cells=[],
        answers=list(CHOICES.values()),
        checks=[_quiz(q, cell) for q, cell in CHOICES.items()],
    ),
]


# Known-wrong answers. Each free-text part is caught by at least two of them.
_VGG_AS_RESNET = (
    "スキップコネクションで入力を出力に足す残差接続を使い、勾配消失を防いで非常に深いネットワークでも学習できる。"
)
_RESNET_AS_VGG = "3x3 の畳み込みと max pooling を積み重ねたシンプルな構成で、パラメータ数が多い。"
_VAGUE = "画像認識のコンテストで好成績を収めた有名なモデル。"
MUTANTS = {
    # the VGG and ResNet answers swapped: each describes the other model
    "vgg_resnet_swapped": {"cnn_vgg_answer": _VGG_AS_RESNET, "cnn_resnet_answer": _RESNET_AS_VGG},
    # GoogLeNet described as VGG
    "googlenet_as_vgg": {"cnn_googlenet_answer": _RESNET_AS_VGG},
    # true but empty statements that name no feature
    "vague_answers": {"cnn_vgg_answer": _VAGUE, "cnn_googlenet_answer": _VAGUE, "cnn_resnet_answer": _VAGUE},
    # wrong letters everywhere
    "choice_wrong_letters": {
        "cnn_mc_vgg_kernel_answer": "a",
        "cnn_mc_googlenet_block_answer": "a",
        "cnn_mc_resnet_block_output_answer": "a",
        "cnn_mc_1x1_roles_answer": "c",
        "cnn_mc_most_parameters_answer": "c",
    },
    # a wrong option written as its text, and only one of the three right options
    "choice_text_and_partial": {
        "cnn_mc_vgg_kernel_answer": "11x11",
        "cnn_mc_1x1_roles_answer": "a",
    },
}
