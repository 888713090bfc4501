"""Tests of grader.checks.textnorm and grader.checks.quiz, and of the course rubrics in solutions/concepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.checks.quiz import (
    Choice,
    Concept,
    Rubric,
    RubricError,
    load_rubrics,
    parse_choice,
    score_choice,
    score_free_text,
)
from grader.checks.textnorm import display_width, guess_language, normalize
from grader.i18n import t
from grader.results import Status

RUBRICS_PATH = Path(__file__).resolve().parent.parent / "solutions" / "concepts" / "rubrics.json"
RUBRICS = load_rubrics(RUBRICS_PATH)
FREE_TEXT = [qid for qid, item in RUBRICS.items() if isinstance(item, Rubric)]

# The confirmation test answers of one real student (course notes, section 確認テスト), verbatim,
# including the doubled "1×11×1", the run-together "スキップコネクションアイデンティモジュール" and
# the stray space in "深い層で の学習".
REAL_VGG = (
    "2014年 Convolution、Convolution、max_poolという単純なネットワークの積み重ねでできており、"
    "シンプルなネットワーク構成。パラメータ数はGoogLeNet・ResNetに比べて多い"
)
REAL_GOOGLENET = (
    "inception moduleを用いる。1×11×1の畳み込みを使った次元削減や様々なフィルターサイズを"
    "使うことによるスパースな演算が特徴"
)
REAL_RESNET = (
    "スキップコネクションアイデンティモジュールを使うことによって残差接続を行い、それにより"
    "より深い層で の学習が可能\n\n*スキップコネクション(勾配消失問題の改善)"
)


def total(results) -> tuple[float, float]:
    return sum(r.score for r in results), sum(r.max_score for r in results)


def found(results) -> set[str]:
    return {r.message_args["concept"] for r in results if r.message_key in ("quiz.found", "quiz.bonus_found")}


def statuses(results) -> dict[str, Status]:
    return {r.message_args["concept"]: r.status for r in results}


# --------------------------------------------------------------------------- textnorm


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("ＶＧＧ１６", "vgg16"),  # full-width ASCII
        ("ｽｷｯﾌﾟｺﾈｸｼｮﾝ", "スキップコネクション"),  # half-width katakana
        ("すきっぷこねくしょん", "スキップコネクション"),  # hiragana folds to katakana
        ("１×１の畳み込み", "1x1ノ畳ミ込ミ"),
        ("1 x 1 conv", "1x1 conv"),
        ("１ｘ１ conv", "1x1 conv"),
        ("3*3", "3x3"),
        ("1×11×1", "1x11x1"),
        ("ショ−トカット", "ショートカット"),  # minus sign typed for the long-vowel mark
        ("ｼｮｰﾄｶｯﾄ", "ショートカット"),
        ("スーーパー", "スーパー"),
        ("Q–learning", "q-learning"),  # en dash between Latin letters stays a hyphen
        ("スキップ・コネクション", "スキップコネクション"),
        ("VGG・GoogLeNet・ResNet", "vgg,googlenet,resnet"),
        ("探索、利用。", "探索,利用."),
        ("深い層で の学習", "深イ層デノ学習"),
        ("inception モジュール", "inceptionモジュール"),
        ("**残差**を使う", "残差ヲ使ウ"),
        ("_skip_ connection", "skip connection"),
        ("max_pool", "max_pool"),  # an underscore inside a word is not emphasis
        ("  skip \n\t connection  ", "skip connection"),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_is_idempotent_and_keeps_indices_without_kana_folding():
    text = "ＲｅｓＮｅｔは　ｽｷｯﾌﾟ・コネクションを使う。**1×1** のconv、勾配消失をふせぐ"
    once = normalize(text)
    assert normalize(once) == once
    plain = normalize(text, fold_kana=False)
    assert len(plain) == len(once) and "を" in plain and "ヲ" in once


@pytest.mark.parametrize(
    "text, lang",
    [
        ("残差接続を使う", "ja"),
        ("残差学習", "ja"),  # kanji only, Japanese forms
        ("ResNet uses skip connections", "en"),
        ("∇J(θ) = E[∇ log π(a|s) Q(s,a)]", "en"),  # Greek letters are mathematics
        ("使用残差连接训练更深的网络", "other"),  # simplified Chinese
        ("잔차 연결을 사용한다", "other"),
        ("usa conexiones residuales para entrenar redes muy profundas", "other"),
        ("", ""),
    ],
)
def test_guess_language(text, lang):
    assert guess_language(text) == lang


def test_display_width_counts_cjk_double():
    assert display_width("残差 ab") == 6


# --------------------------------------------------------------------------- the course rubrics


def test_every_rubric_loads_with_positive_points():
    free = [r for r in RUBRICS.values() if isinstance(r, Rubric)]
    choices = [r for r in RUBRICS.values() if isinstance(r, Choice)]
    assert {
        "vgg",
        "googlenet",
        "resnet",
        "rl_explore_exploit",
        "rl_state_vs_action_value",
        "rl_q_learning",
        "rl_policy_gradient",
    } <= set(RUBRICS)
    assert sum(q.startswith("cnn_mc") for q in RUBRICS) >= 4 and sum(q.startswith("rl_mc") for q in RUBRICS) >= 3
    assert all(r.points > 0 and all(c.points > 0 for c in r.concepts) for r in free)
    assert all(c.points > 0 for c in choices)
    for r in free:  # labels in both languages: they are what students see instead of synonyms
        assert all(c.label.get("en") and c.label.get("ja") for c in r.concepts), r.question_id


@pytest.mark.parametrize("qid, answer", [("vgg", REAL_VGG), ("googlenet", REAL_GOOGLENET), ("resnet", REAL_RESNET)])
def test_real_student_answer_scores_full(qid, answer):
    results = score_free_text(answer, RUBRICS[qid])
    score, max_score = total(results)
    assert score == max_score == 3
    assert all(r.status is Status.PASS for r in results)


@pytest.mark.parametrize(
    "qid, answer",
    [
        (
            "vgg",
            "A simple architecture: blocks of conv, conv, max pool stacked on top of each other; "
            "it has many parameters.",
        ),
        (
            "googlenet",
            "Built from Inception modules; 1x1 convolutions for dimension reduction; "
            "filters of several sizes applied in parallel.",
        ),
        (
            "resnet",
            "Skip connections add the input to the output (residual learning), which mitigates the "
            "vanishing gradient problem so that very deep networks can be trained.",
        ),
    ],
)
def test_english_equivalent_scores_full(qid, answer):
    score, max_score = total(score_free_text(answer, RUBRICS[qid]))
    assert score == max_score


@pytest.mark.parametrize("wrong_for, answer", [("resnet", REAL_VGG), ("vgg", REAL_RESNET), ("googlenet", REAL_RESNET)])
def test_answer_about_another_architecture_loses_points(wrong_for, answer):
    results = score_free_text(answer, RUBRICS[wrong_for])
    score, max_score = total(results)
    assert score <= max_score / 3
    assert any(r.status is not Status.PASS for r in results)


@pytest.mark.parametrize("answer", ["", "   \n", None, "YOUR ANSWER HERE", "  your answer here  "])
@pytest.mark.parametrize("lang, text", [("en", "not answered"), ("ja", "未回答です")])
def test_unanswered_scores_zero(answer, lang, text):
    results = score_free_text(answer, RUBRICS["resnet"], lang=lang)
    assert total(results)[0] == 0
    assert all(r.status is Status.FAIL and r.message == text and r.message_key == "quiz.not_answered" for r in results)


def test_stub_left_above_a_real_answer_is_ignored():
    results = score_free_text("YOUR ANSWER HERE\n\n" + REAL_RESNET, RUBRICS["resnet"])
    assert total(results)[0] == 3


@pytest.mark.parametrize(
    "answer",
    [
        "ｽｷｯﾌﾟｺﾈｸｼｮﾝ",  # half-width katakana
        "すきっぷこねくしょん",  # hiragana
        "ＳＨＯＲＴＣＵＴ ｃｏｎｎｅｃｔｉｏｎ",  # full-width Latin
        "ショ−トカット",  # minus sign for the long vowel
        "ざんさ",
        "Skip-Connection",
        "**residual** blocks",
        "skip conection",  # one typo
    ],
)
def test_script_and_width_variants_match(answer):
    assert "skip_residual" in found(score_free_text(answer, RUBRICS["resnet"]))


@pytest.mark.parametrize(
    "answer",
    ["１ｘ１ conv で次元削減", "1×1の畳み込みで次元を削減", "1 x 1 convolutions reduce the number of channels"],
)
def test_all_of_group_needs_both_parts(answer):
    assert "reduction_1x1" in found(score_free_text(answer, RUBRICS["googlenet"]))


def test_all_of_group_alone_or_too_far_apart_does_not_count():
    rubric = RUBRICS["googlenet"]
    assert "reduction_1x1" not in found(score_free_text("1x1の畳み込みを使う", rubric))
    far = "1x1の畳み込みを使う。" + "あ" * 70 + "次元削減"
    assert "reduction_1x1" not in found(score_free_text(far, rubric))


@pytest.mark.parametrize(
    "qid, concept, answer",
    [
        ("resnet", "skip_residual", "ResNetは残差接続を使わない。"),
        ("resnet", "skip_residual", "ResNet does not use skip connections."),
        ("resnet", "skip_residual", "It has no residual blocks."),
        ("resnet", "skip_residual", "Skip connections are not used."),
        ("googlenet", "inception", "Inception moduleは使っていない"),
        ("rl_explore_exploit", "exploration", "探索はしない"),
        ("resnet", "skip_residual", "残差接続無しのネットワーク"),
        ("resnet", "skip_residual", "skip connection不使用"),
    ],
)
def test_negated_concept_goes_to_review(qid, concept, answer):
    results = score_free_text(answer, RUBRICS[qid])
    check = next(r for r in results if r.message_args["concept"] == concept)
    assert check.status is Status.NEEDS_REVIEW and check.score == 0
    assert check.message_key == "quiz.negated"


@pytest.mark.parametrize(
    "qid, concept, answer",
    [
        ("resnet", "skip_residual", "スキップ接続で勾配が消えない"),  # the negation belongs to another clause
        ("resnet", "vanishing_gradient", "勾配消失が起きない"),  # negation is part of the idea
        ("resnet", "skip_residual", "not only residual connections but also bottlenecks"),
        ("rl_explore_exploit", "exploration", "探索が足りない状態になる"),  # 足りない: insufficient, not absent
        ("vgg", "many_parameters", "パラメータ数が多く、計算量が大きい"),
    ],
)
def test_positive_statements_are_not_read_as_negations(qid, concept, answer):
    results = score_free_text(answer, RUBRICS[qid])
    assert statuses(results)[concept] is Status.PASS


def test_long_answer_with_few_concepts_goes_to_review():
    answer = (
        "ResNetはとても有名なモデルで、画像認識のコンテストで優勝した。残差という考え方を使っており、"
        "その後の多くのモデルに影響を与えた。実装も比較的簡単である。"
    )
    results = score_free_text(answer, RUBRICS["resnet"])
    st = statuses(results)
    assert st["skip_residual"] is Status.PASS
    assert st["deep_trainable"] is Status.NEEDS_REVIEW and st["vanishing_gradient"] is Status.NEEDS_REVIEW
    assert results[1].message_key == "quiz.review_coverage"
    short = score_free_text("残差を使う", RUBRICS["resnet"])  # short and partial: simply partial
    assert statuses(short)["deep_trainable"] is Status.FAIL


def test_answer_in_another_language_goes_to_review():
    results = score_free_text("使用残差连接，可以训练非常深的网络，缓解梯度消失。", RUBRICS["resnet"])
    assert {r.status for r in results} >= {Status.NEEDS_REVIEW}
    assert any(r.message_key == "quiz.review_language" for r in results)


def test_bonus_makes_up_for_a_missed_concept_but_never_exceeds_the_total():
    rubric = RUBRICS["resnet"]
    partial = score_free_text("スキップ接続で勾配消失を防ぐ。ボトルネック構造と恒等写像。", rubric)
    assert total(partial) == (3, 3)
    assert statuses(partial)["deep_trainable"] is Status.FAIL
    everything = score_free_text(REAL_RESNET + " ボトルネック構造、恒等写像", rubric)
    assert total(everything) == (3, 3)
    bonus = [r for r in everything if r.message_key == "quiz.bonus_found"]
    assert bonus and all(r.max_score == 0 and r.score == 0 for r in bonus)


def test_messages_in_japanese_and_hints_do_not_leak_synonyms():
    rubric = RUBRICS["googlenet"]
    results = score_free_text("Inceptionモジュールを使う", rubric, lang="ja")
    missed = [r for r in results if r.status is Status.FAIL]
    assert missed
    for r in missed:
        concept = next(c for c in rubric.concepts if c.id == r.message_args["concept"])
        assert concept.label["ja"] in r.message and "記述が見つかりません" in r.message
        assert concept.label["ja"] in r.hint
        leaked = [s for group in [concept.synonyms, *concept.all_of] for s in group if len(s) > 3 and s in r.hint]
        assert not leaked
    passed = next(r for r in results if r.status is Status.PASS)
    assert "記述があります" in passed.message
    # the key and arguments re-render the same check in English
    assert t(passed.message_key, "en", **passed.message_args) == "the building block: mentioned"


def test_check_names_follow_question_and_concept():
    results = score_free_text(REAL_VGG, RUBRICS["vgg"])
    assert [r.name for r in results] == [f"vgg: {c.id}" for c in RUBRICS["vgg"].concepts]
    assert all(r.to_dict()["status"] in ("pass", "fail", "needs-review") for r in results)


# --------------------------------------------------------------------------- Concept / Rubric API


def test_regex_synonyms_are_normalised_but_keep_escapes():
    concept = Concept("deep", 1, [r"re:深.{0,8}(学習|訓練)(が|でき)", r"re:\d{3}\s*LAYERS"])
    rubric = Rubric("q", [concept], min_chars=1000)
    assert found(score_free_text("深い層でも学習ができる", rubric)) == {"deep"}
    assert found(score_free_text("ふかい", rubric)) == set()
    assert found(score_free_text("trains 152 layers", rubric)) == {"deep"}


def test_latin_synonym_does_not_match_inside_a_word():
    rubric = Rubric("q", [Concept("res", 1, ["res"])], min_chars=1000)
    assert found(score_free_text("pressure", rubric)) == set()
    assert found(score_free_text("res block", rubric)) == {"res"}


def test_custom_negation_cues():
    rubric = Rubric("q", [Concept("x", 1, ["dropout"], negations=["re:やめ"])], min_chars=1000)
    assert statuses(score_free_text("dropoutをやめた", rubric))["x"] is Status.NEEDS_REVIEW
    assert statuses(score_free_text("no dropout", rubric))["x"] is Status.PASS  # built-in cues replaced


@pytest.mark.parametrize(
    "kwargs",
    [
        {"id": "x", "points": 0, "synonyms": ["a"]},
        {"id": "x", "points": 1},
        {"id": "x", "points": 1, "synonyms": ["re:(unclosed"]},
        {"id": "x", "points": 1, "all_of": [["a"], []]},
    ],
)
def test_bad_concepts_are_rejected(kwargs):
    with pytest.raises(RubricError):
        Concept(**kwargs)


# --------------------------------------------------------------------------- multiple choice

SINGLE = Choice("mc", {"a": "1x1", "b": "3x3", "c": "5x5", "d": "11x11"}, "b")
MULTI = Choice(
    "mc_multi",
    {"a": "チャンネル数を減らす", "b": "計算量を減らす", "c": "解像度を半分にする", "d": "非線形性を加える"},
    {"a", "b", "d"},
)
KANA = Choice("mc_kana", {"ア": "探索", "イ": "利用", "ウ": "割引率"}, "ア")


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("b", {"b"}),
        ("B", {"b"}),
        ("(b)", {"b"}),
        ("（ｂ）", {"b"}),
        ("ｂ", {"b"}),
        (" b. ", {"b"}),
        ("b) 3x3", {"b"}),
        ("B: 3×3 filters", {"b"}),
        ("3x3", {"b"}),
        ("３×３", {"b"}),
        ("答えはbです", {"b"}),
        ("Answer: b", {"b"}),
        ("a, c", {"a", "c"}),
        ("", set()),
        ("YOUR ANSWER HERE", set()),
        ("I think it is the small one", None),
        ("e", None),
        ("b) 5x5", None),  # the letter says one option, the text another
    ],
)
def test_parse_single_choice(answer, expected):
    assert parse_choice(answer, SINGLE) == expected


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("a, b, d", {"a", "b", "d"}),
        ("a,b,d", {"a", "b", "d"}),
        ("a・b・d", {"a", "b", "d"}),
        ("a and b and d", {"a", "b", "d"}),
        ("(a)(b)(d)", {"a", "b", "d"}),
        ("abd", {"a", "b", "d"}),
        ("ａ、ｂ、ｄ", {"a", "b", "d"}),
        ("a) チャンネル数を減らす, d) 非線形性を加える", {"a", "d"}),
        ("計算量を減らす", {"b"}),
    ],
)
def test_parse_multiple_choice(answer, expected):
    assert parse_choice(answer, MULTI) == expected


def test_compact_letters_only_for_multi_answer_questions():
    assert parse_choice("bad", SINGLE) is None


def test_kana_option_keys():
    assert parse_choice("あ", KANA) == {"ア"}
    assert parse_choice("ｱ", KANA) == {"ア"}
    assert score_choice("探索", KANA).status is Status.PASS


def test_score_choice_outcomes():
    ok = score_choice("(B)", SINGLE)
    assert (ok.status, ok.score, ok.max_score, ok.message) == (Status.PASS, 1.0, 1.0, "correct")
    wrong = score_choice("a", SINGLE)
    assert (wrong.status, wrong.score, wrong.expected) == (Status.FAIL, 0.0, None)
    assert "b" not in wrong.message
    shown = score_choice("a", SINGLE, reveal=True)
    assert shown.expected == ["b"] and shown.message == "incorrect: the answer is b"
    assert score_choice("a", SINGLE, lang="ja", reveal=True).message == "不正解: 正解は b です"
    unsure = score_choice("maybe the second", SINGLE)
    assert unsure.status is Status.NEEDS_REVIEW and unsure.score == 0
    empty = score_choice("", SINGLE, lang="ja")
    assert empty.status is Status.FAIL and empty.message == "未回答です"


def test_multi_answer_needs_the_exact_set():
    assert score_choice("a, b, d", MULTI).status is Status.PASS
    partial = score_choice("a", MULTI)
    assert partial.status is Status.FAIL and partial.hint  # "choose all that apply"
    assert score_choice("a, b, c, d", MULTI).status is Status.FAIL


@pytest.mark.parametrize("qid", [q for q, item in RUBRICS.items() if isinstance(item, Choice)])
def test_course_choice_questions_accept_their_correct_letters_and_option_text(qid):
    choice = RUBRICS[qid]
    letters = ", ".join(sorted(choice.correct))
    assert score_choice(letters, choice).status is Status.PASS
    if not choice.multiple:
        (key,) = choice.correct
        assert score_choice(choice.options[key], choice).status is Status.PASS
    wrong = next(k for k in choice.options if k not in choice.correct)
    assert score_choice(wrong, choice).status is Status.FAIL


# --------------------------------------------------------------------------- loading


def test_load_rubrics_rejects_malformed_files(tmp_path):
    cases = [
        "not json",
        {"questions": [{"id": "q", "type": "essay"}]},
        {"questions": [{"id": "q", "type": "choice", "options": {"a": "x"}, "correct": "b"}]},
        {"questions": [{"id": "q", "type": "free_text", "concepts": [{"id": "c", "points": 1, "synonym": ["x"]}]}]},
        {"questions": [{"id": "q", "type": "choice", "options": {"a": "x"}, "correct": "a"}] * 2},
    ]
    for i, content in enumerate(cases):
        path = tmp_path / f"r{i}.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
        with pytest.raises(RubricError):
            load_rubrics(path)


# --------------------------------------------------------------------------- accuracy on student answers

# (question, answer, concepts a careful human grader credits). Mistakes, scripts and widths as
# students write them. The second block was written before the rubric changes it prompted, and
# measured then: see the report of this module's rubrics.
ANSWERS = [
    # written with the rubrics
    ("vgg", REAL_VGG, ["conv_pool_stack", "many_parameters", "simple_structure"]),
    (
        "vgg",
        "VGG is a simple network that stacks 3x3 convolutions followed by max pooling, repeated. It is deep (16 or 19 layers) and has a lot of parameters (about 138M).",
        ["conv_pool_stack", "deep_16_19", "many_parameters", "simple_structure"],
    ),
    (
        "vgg",
        "３×３の小さなフィルタの畳み込み層を何層も重ね、最大プーリングを挟むだけのシンプルな構造。VGG16/VGG19のように層が深く、パラメータ数が非常に多い。",
        ["conv_pool_stack", "deep_16_19", "many_parameters", "simple_structure"],
    ),
    ("vgg", "畳み込み層とプーリング層を交互に積み重ねたネットワーク。", ["conv_pool_stack"]),
    ("vgg", "VGG16 has 16 layers.", ["deep_16_19"]),
    # ResNet's idea under VGG: a known wrong claim, nothing is credited
    ("vgg", "スキップ接続を使って残差を学習することで、100層以上の深いネットワークでも学習できる。", []),
    (
        "vgg",
        "ｼﾝﾌﾟﾙな構造で、3x3のｺﾝﾎﾞﾘｭｰｼｮﾝを重ねる。ﾊﾟﾗﾒｰﾀが多い",
        ["conv_pool_stack", "many_parameters", "simple_structure"],
    ),
    (
        "vgg",
        "しんぷるなこうぞう。3×3のたたみこみを積み重ねる。ぱらめーたすうが多い。",
        ["conv_pool_stack", "many_parameters", "simple_structure"],
    ),
    (
        "vgg",
        "Simple archtecture, stacking conv layers with maxpooling; huge number of params",
        ["conv_pool_stack", "many_parameters", "simple_structure"],
    ),
    ("vgg", "VGGはシンプルではない。", []),
    ("vgg", "VGG uses inception modules with 1x1 convolutions to reduce the number of channels.", []),
    ("vgg", "わかりません", []),
    ("googlenet", REAL_GOOGLENET, ["inception", "multi_scale_parallel", "reduction_1x1"]),
    (
        "googlenet",
        "GoogLeNet is built from Inception modules: 1x1, 3x3 and 5x5 convolutions and pooling run in parallel, and 1x1 convolutions reduce the number of channels before the big filters. It also uses auxiliary classifiers and global average pooling.",
        ["auxiliary_loss", "global_average_pooling", "inception", "multi_scale_parallel", "reduction_1x1"],
    ),
    (
        "googlenet",
        "インセプションモジュールを積み重ねた構造。1×1畳み込みで次元を削減して計算量を抑え、異なるサイズのフィルタを並列に適用する。",
        ["inception", "multi_scale_parallel", "reduction_1x1"],
    ),
    ("googlenet", "Inceptionモジュールを使う。", ["inception"]),
    ("googlenet", "uses 1x1 convolutions", []),
    ("googlenet", "inseption module, and 1x1 conv for dimensionality reduction", ["inception", "reduction_1x1"]),
    ("googlenet", "3x3の畳み込みを重ねたシンプルな構造で、パラメータが多い。", []),
    (
        "googlenet",
        "ＧｏｏｇＬｅＮｅｔはｉｎｃｅｐｔｉｏｎモジュールを用いる。１ｘ１ conv で次元削減、複数のフィルタを並列に使う",
        ["inception", "multi_scale_parallel", "reduction_1x1"],
    ),
    ("googlenet", "Inception moduleは使わない。", []),
    (
        "googlenet",
        "It has inception modules and auxiliary losses in the middle of the network to help training.",
        ["auxiliary_loss", "inception"],
    ),
    (
        "googlenet",
        "インセプション構造、Global Average Poolingで全結合層を減らし、補助的な損失(auxiliary loss)も使う",
        ["auxiliary_loss", "global_average_pooling", "inception"],
    ),
    ("googlenet", "使用Inception模块，通过1x1卷积降维，并行使用多种尺寸的卷积核。", ["inception"]),
    ("resnet", REAL_RESNET, ["deep_trainable", "identity_mapping", "skip_residual", "vanishing_gradient"]),
    (
        "resnet",
        "ResNet adds skip (shortcut) connections so each block learns a residual F(x) and outputs F(x)+x. This eases the vanishing gradient problem, so very deep networks (152 layers) can be trained.",
        ["deep_trainable", "skip_residual", "vanishing_gradient"],
    ),
    (
        "resnet",
        "ショートカット接続により残差を学習する。勾配消失が起きにくく、100層を超える深いネットワークでも学習可能。",
        ["deep_trainable", "skip_residual", "vanishing_gradient"],
    ),
    ("resnet", "残差ブロックを使う", ["skip_residual"]),
    ("resnet", "Very deep network.", ["deep_trainable"]),
    ("resnet", "3x3の畳み込みとプーリングを単純に積み重ねた構造で、パラメータ数が多い。", []),
    ("resnet", "ResNetは残差接続を使わない。", []),
    ("resnet", "ResNet does not use skip connections; it is just deeper.", []),
    (
        "resnet",
        "すきっぷこねくしょんで勾配消失を防ぎ、深い層でも学習できる",
        ["deep_trainable", "skip_residual", "vanishing_gradient"],
    ),
    # a bare list of terms: sent to a person, nothing credited by the scorer
    ("resnet", "ｼｮｰﾄｶｯﾄｺﾈｸｼｮﾝ、ﾎﾞﾄﾙﾈｯｸ構造、恒等写像", []),
    (
        "resnet",
        "uses residul learning and skip conections to avoid vanishing gradients",
        ["skip_residual", "vanishing_gradient"],
    ),
    (
        "resnet",
        "identity mappingのshortcutを足すことで、gradientが直接伝わる→deep なnetworkでもtraining可能",
        ["deep_trainable", "identity_mapping", "skip_residual", "vanishing_gradient"],
    ),
    (
        "rl_explore_exploit",
        "過去のデータでベストとされる行動のみを取り続けると、他のより良い行動を見つけられない(探索不足)。逆に未知の行動ばかり取ると過去の経験が活かせない(利用不足)。",
        ["exploitation", "exploration", "tradeoff"],
    ),
    (
        "rl_explore_exploit",
        "Exploration means trying new actions to gather information; exploitation means taking the best action known so far. Doing only one of them hurts the other, so we need to balance them (e.g. ε-greedy).",
        ["epsilon_greedy", "exploitation", "exploration", "tradeoff"],
    ),
    ("rl_explore_exploit", "探索と利用はトレードオフの関係にある。", ["exploitation", "exploration", "tradeoff"]),
    ("rl_explore_exploit", "探索とは新しい行動を試すこと。", ["exploration"]),
    (
        "rl_explore_exploit",
        "たんさく:いろいろな行動をためす。りよう:いちばんよい行動をえらぶ。りょうりつはむずかしい",
        ["exploitation", "exploration", "tradeoff"],
    ),
    ("rl_explore_exploit", "Exploration is the state of the agent and exploitation is its reward.", []),
    (
        "rl_explore_exploit",
        "If the agent always exploits, it never finds better actions.",
        ["exploitation", "tradeoff"],
    ),
    ("rl_explore_exploit", "探索はしない。", []),
    ("rl_explore_exploit", "탐색과 활용의 트레이드오프", []),
    (
        "rl_explore_exploit",
        "ＥＸＰＬＯＲＡＴＩＯＮ ｖｓ ＥＸＰＬＯＩＴＡＴＩＯＮ: balance between them",
        ["exploitation", "exploration", "tradeoff"],
    ),
    (
        "rl_state_vs_action_value",
        "状態価値関数はある状態の価値に注目し、行動価値関数は状態と行動を組み合わせた価値に注目する。",
        ["action_dependence", "action_value", "state_value"],
    ),
    (
        "rl_state_vs_action_value",
        "The state-value function V(s) gives the expected return from state s under a policy; the action-value function Q(s,a) gives the expected return after taking action a in state s.",
        ["action_dependence", "action_value", "expected_return", "state_value"],
    ),
    ("rl_state_vs_action_value", "状態価値関数はV、行動価値関数はQで表す。", ["action_value", "state_value"]),
    (
        "rl_state_vs_action_value",
        "状態価値関数は状態の価値、行動価値関数は状態と価値を組み合わせた価値",
        ["action_value", "state_value"],
    ),
    ("rl_state_vs_action_value", "V is the reward, Q is the quality of the policy.", []),
    (
        "rl_state_vs_action_value",
        "じょうたいかち関数V(s)とこうどうかち関数Q(s,a)",
        ["action_dependence", "action_value", "state_value"],
    ),
    (
        "rl_state_vs_action_value",
        "Q-values depend on both the state and the action.",
        ["action_dependence", "action_value"],
    ),
    (
        "rl_state_vs_action_value",
        "V(s)=Σπ(a|s)Q(s,a)の関係がある",
        ["action_dependence", "action_value", "relation", "state_value"],
    ),
    (
        "rl_state_vs_action_value",
        "状態価値関数は行動を考慮しない。行動価値関数は行動も考慮する。",
        ["action_dependence", "action_value", "state_value"],
    ),
    ("rl_state_vs_action_value", "状态价值函数只依赖于状态，动作价值函数依赖于状态和动作。", []),
    ("rl_q_learning", "行動価値関数を、行動する毎に更新することにより学習を進める方法。", ["per_step", "q_update"]),
    (
        "rl_q_learning",
        "Q-learning is an off-policy TD method: after each step it updates Q(s,a) toward r + γ max_a' Q(s',a') with learning rate α.",
        ["learning_rate", "max_target", "per_step", "q_update"],
    ),
    (
        "rl_q_learning",
        "Q値を更新する手法。各ステップで、報酬と次の状態での最大のQ値を使ってQ(s,a)を更新する(TD学習)。",
        ["max_target", "per_step", "q_update"],
    ),
    ("rl_q_learning", "Qテーブルを使う強化学習の手法", ["q_update"]),
    ("rl_q_learning", "方策を直接パラメータ化して勾配で最適化する手法", []),
    (
        "rl_q_learning",
        "Q-learning updates Q values at every step using the maximum Q of the next state.",
        ["max_target", "per_step", "q_update"],
    ),
    ("rl_q_learning", "ニューラルネットで行動価値関数を近似して学習する(DQN)", ["function_approximation", "q_update"]),
    ("rl_q_learning", "Q学習は行動価値を更新しない", []),
    (
        "rl_q_learning",
        "Ｑ値をＴＤ誤差で毎ステップ更新し、ｍａｘ Ｑ(s',a')を目標にする",
        ["max_target", "per_step", "q_update"],
    ),
    ("rl_q_learning", "YOUR ANSWER HERE", []),
    (
        "rl_policy_gradient",
        "方策をモデル化して最適化する手法。θ(t+1)=θ(t)+ε∇J(θ)で更新する。Jは方策の良さで、平均報酬や割引報酬和で定義する。方策勾配定理: ∇θJ(θ)=E[∇θ log πθ(a|s) Qπ(s,a)]",
        ["gradient_ascent", "objective_definition", "parameterized_policy", "theorem"],
    ),
    (
        "rl_policy_gradient",
        "The policy π_θ(a|s) is a neural network with parameters θ; we do gradient ascent on the expected return J(θ). The policy gradient theorem says ∇J(θ) = E[∇ log π(a|s) Q(s,a)], estimated e.g. by REINFORCE.",
        ["estimators", "gradient_ascent", "parameterized_policy", "theorem"],
    ),
    ("rl_policy_gradient", "方策を直接学習する方法", ["parameterized_policy"]),
    ("rl_policy_gradient", "We update θ in the direction of ∇J(θ).", ["gradient_ascent"]),
    ("rl_policy_gradient", "行動価値関数を毎ステップ更新して最大のQ値を選ぶ", []),
    ("rl_policy_gradient", "∇J(θ)=E[∇log π(a|s)Q(s,a)]", ["theorem"]),
    (
        "rl_policy_gradient",
        "方策をﾊﾟﾗﾒｰﾀθを持つﾓﾃﾞﾙで表し、勾配上昇法で方策の良さJ(θ)を最大化する。",
        ["gradient_ascent", "parameterized_policy"],
    ),
    ("rl_policy_gradient", "It does not use a parameterized policy; it learns Q values.", []),
    (
        "rl_policy_gradient",
        "Policy gradient methods optimize the policy directly by gradient ascent. The theorem gives the gradient as the expectation of grad log pi times Q.",
        ["gradient_ascent", "parameterized_policy", "theorem"],
    ),
    ("rl_policy_gradient", "I don't know", []),
    # held out: written before the rubric changes they prompted
    (
        "vgg",
        "VGGは畳み込み層を2~3層重ねてからMaxPoolingする、というブロックを繰り返すだけの単純な構造。重みが多くメモリを大量に使う。",
        ["conv_pool_stack", "many_parameters", "simple_structure"],
    ),
    ("vgg", "Very deep CNN (VGG-19) using only 3×3 kernels everywhere.", ["conv_pool_stack", "deep_16_19"]),
    ("vgg", "2014年のILSVRCで2位。構造が分かりやすく、転移学習によく使われる。", ["simple_structure"]),
    ("vgg", "全結合層が大きいのでパラメータ数がとても多い(約1.4億)。", ["many_parameters"]),
    (
        "vgg",
        "the architecture is plain: conv-conv-pool, conv-conv-pool, ... then 3 FC layers, so it's heavy (138 million parameters)",
        ["conv_pool_stack", "many_parameters", "simple_structure"],
    ),
    (
        "googlenet",
        "Inceptionモジュールを9個重ねたネットワーク。モジュール内では1x1,3x3,5x5の畳み込みとプーリングを並列に行い、結果を連結する。",
        ["inception", "multi_scale_parallel"],
    ),
    (
        "googlenet",
        "1x1 convolutions are used as a bottleneck to cut the channel count, which keeps the Inception module cheap.",
        ["inception", "reduction_1x1"],
    ),
    ("googlenet", "ネットワークの途中に補助的な分類器を付けて勾配消失を防いでいる。", ["auxiliary_loss"]),
    (
        "googlenet",
        "インセプションモジュール。1×1畳み込みでチャネル数を減らして計算量を削減。",
        ["inception", "reduction_1x1"],
    ),
    (
        "googlenet",
        "Wide rather than deep: each block applies filters of different sizes at once and concatenates them.",
        ["multi_scale_parallel"],
    ),
    (
        "resnet",
        "残差ブロックで入力xをそのまま出力に足す(F(x)+x)。これにより152層でも学習できる。",
        ["deep_trainable", "skip_residual"],
    ),
    (
        "resnet",
        "Shortcut connections let the gradient flow back directly, so the network can be made much deeper without degradation.",
        ["deep_trainable", "skip_residual", "vanishing_gradient"],
    ),
    ("resnet", "層を飛び越える接続を入れることで勾配が消えにくくなる", ["skip_residual", "vanishing_gradient"]),
    ("resnet", "ResNet-50 uses bottleneck blocks (1x1, 3x3, 1x1).", ["bottleneck"]),
    ("resnet", "VGGより深い", []),
    (
        "rl_explore_exploit",
        "探索ばかりだと得られる報酬が少なく、利用ばかりだともっと良い行動を見落とす。どちらかを増やせばもう一方が減る。",
        ["exploitation", "exploration", "tradeoff"],
    ),
    (
        "rl_explore_exploit",
        "exploration = gather info about the environment, exploitation = maximise reward with current knowledge; you cannot do both at the same time",
        ["exploitation", "exploration", "tradeoff"],
    ),
    (
        "rl_explore_exploit",
        "ε-greedyのように確率εでランダムに行動し、それ以外は最善の行動をとる。",
        ["epsilon_greedy", "exploitation", "exploration"],
    ),
    ("rl_explore_exploit", "知識が不完全なまま行動しながらデータを集める必要がある", []),
    ("rl_explore_exploit", "The agent should sometimes try actions it hasn't tried yet.", ["exploration"]),
    (
        "rl_state_vs_action_value",
        "V(s)は状態sにいることの価値、Q(s,a)は状態sで行動aを選んだときの価値。",
        ["action_dependence", "action_value", "state_value"],
    ),
    (
        "rl_state_vs_action_value",
        "state value = how good a state is; action value = how good an action is in that state",
        ["action_dependence", "action_value", "state_value"],
    ),
    ("rl_state_vs_action_value", "行動価値関数の方が情報が多い", ["action_value"]),
    ("rl_state_vs_action_value", "Vは状態だけの関数で、Qは状態と行動の関数。", ["action_dependence", "state_value"]),
    ("rl_state_vs_action_value", "Both estimate future cumulative reward.", ["expected_return"]),
    (
        "rl_q_learning",
        "Q(s,a)←Q(s,a)+α(r+γmaxQ(s',a')−Q(s,a)) で行動価値を更新していく方法",
        ["learning_rate", "max_target", "q_update"],
    ),
    (
        "rl_q_learning",
        "A model-free method that learns the value of each action in each state from experience, one transition at a time.",
        ["per_step", "q_update"],
    ),
    ("rl_q_learning", "関数近似とQ学習を組み合わせたのがDQN", ["function_approximation"]),
    (
        "rl_q_learning",
        "各行動を選んだときの価値を表にして、試行のたびに書き換える。次の状態で一番大きい価値を使う。",
        ["max_target", "per_step", "q_update"],
    ),
    ("rl_q_learning", "SARSAと違い、実際に取る行動ではなく最も価値の高い行動で更新する(方策オフ型)。", ["max_target"]),
    (
        "rl_policy_gradient",
        "方策πをθでパラメータ化し、Jの勾配方向にθを動かす。Jの勾配は方策勾配定理によりE[∇logπ Q]で計算できる。",
        ["gradient_ascent", "parameterized_policy", "theorem"],
    ),
    (
        "rl_policy_gradient",
        "Instead of learning values, we learn the policy's parameters by following the gradient of the expected reward.",
        ["gradient_ascent", "parameterized_policy"],
    ),
    ("rl_policy_gradient", "方策勾配定理は状態価値関数とベルマン方程式から導出される。", []),
    ("rl_policy_gradient", "∇θ J = E[∇θ log π(a|s) · Q^π(s,a)]", ["theorem"]),
    (
        "rl_policy_gradient",
        "ニューラルネットで方策を表し、報酬の期待値を最大化するようにパラメータを更新する",
        ["gradient_ascent", "parameterized_policy"],
    ),
    (
        "vgg",
        "小さい(3x3)フィルタを使った畳み込みを何度も繰り返し、その後プーリングで縮小する。構造は単純だが重い。",
        ["conv_pool_stack", "many_parameters", "simple_structure"],
    ),
    (
        "vgg",
        "VGG just keeps stacking the same conv blocks, which made it easy to understand and to reuse as a feature extractor.",
        ["conv_pool_stack", "simple_structure"],
    ),
    ("vgg", "層が19層もあって当時としては深い", ["deep_16_19"]),
    (
        "googlenet",
        "異なる大きさの畳み込みを同時に行うInceptionモジュールを採用し、1x1 convでチャネルを圧縮している",
        ["inception", "multi_scale_parallel", "reduction_1x1"],
    ),
    (
        "googlenet",
        "22 layers deep, uses inception blocks and replaces the fully connected layers with global average pooling.",
        ["global_average_pooling", "inception"],
    ),
    ("googlenet", "パラメータ数がVGGよりずっと少ない", []),
    (
        "resnet",
        "入力を数層先にショートカットして加える。層が増えても精度が落ちにくい。",
        ["deep_trainable", "skip_residual"],
    ),
    (
        "resnet",
        "Learns residual functions F(x)=H(x)-x instead of H(x); identity shortcuts keep gradients alive through 100+ layers.",
        ["deep_trainable", "identity_mapping", "skip_residual", "vanishing_gradient"],
    ),
    ("resnet", "残差学習", ["skip_residual"]),
    (
        "rl_explore_exploit",
        "いま一番良いと思う行動(利用)と、まだ試していない行動(探索)のどちらを選ぶかのジレンマ",
        ["exploitation", "exploration", "tradeoff"],
    ),
    (
        "rl_explore_exploit",
        "Explore too much and you waste reward; exploit too much and you may get stuck with a suboptimal action.",
        ["exploitation", "exploration", "tradeoff"],
    ),
    ("rl_explore_exploit", "報酬を最大化するために行動を選ぶこと", []),
    (
        "rl_state_vs_action_value",
        "Vは方策に従ったときの状態の良さ、Qはある行動をとった後に方策に従ったときの良さ。",
        ["action_dependence", "action_value", "state_value"],
    ),
    (
        "rl_state_vs_action_value",
        "V(s) only takes the state, Q(s, a) takes state and action.",
        ["action_dependence", "action_value", "state_value"],
    ),
    ("rl_state_vs_action_value", "どちらも価値を表す関数", []),
    (
        "rl_q_learning",
        "Q値を、報酬と次状態のQ値の最大値を使ったTD誤差で更新していくアルゴリズム",
        ["max_target", "per_step", "q_update"],
    ),
    (
        "rl_q_learning",
        "It keeps a table of Q(s,a) and updates it after every transition using the Bellman optimality equation.",
        ["max_target", "per_step", "q_update"],
    ),
    ("rl_q_learning", "エージェントが報酬をもらって学習する", []),
    (
        "rl_policy_gradient",
        "方策をパラメータθのモデルとし、θ←θ+ε∇J(θ)で更新する方法。",
        ["gradient_ascent", "parameterized_policy"],
    ),
    (
        "rl_policy_gradient",
        "The gradient of J equals the expected value of grad log policy multiplied by the action value.",
        ["theorem"],
    ),
    (
        "rl_policy_gradient",
        "方策の良さJを最大にするようにθを勾配法で調整する。Jは平均報酬や割引報酬和で定義。",
        ["gradient_ascent", "objective_definition"],
    ),
]


def _agreement(cases) -> tuple[int, int, list[str]]:
    agree = n = 0
    misses = []
    for qid, answer, expected in cases:
        results = score_free_text(answer, RUBRICS[qid])
        got = found(results)
        for c in RUBRICS[qid].concepts:
            n += 1
            if (c.id in got) == (c.id in expected):
                agree += 1
            else:
                misses.append(f"{qid}: {c.id}: {answer[:50]}")
    return agree, n, misses


def test_student_answer_data_is_broad_enough():
    for qid in FREE_TEXT:
        rows = [a for a in ANSWERS if a[0] == qid]
        assert len(rows) >= 8, qid
        assert any(not e for _, _, e in rows), f"{qid}: no wrong answer"
        assert any(set(e) >= {c.id for c in RUBRICS[qid].concepts if not c.bonus} for _, _, e in rows), qid


def test_rubrics_agree_with_a_human_grader_on_student_answers():
    agree, n, misses = _agreement(ANSWERS)
    # Known disagreements: keyword rubrics credit a named concept even when the student's
    # definition of it is wrong ("Exploration is the state of the agent ...").
    assert agree / n >= 0.98, misses


# --------------------------------------------------------------------------- claims (schema /2)

CLAIM_RUBRIC = Rubric(
    "g",
    [
        Concept(
            "reduce",
            1,
            ["1x1"],
            claims=[{"subject": ["1x1", "pointwise"], "relation": ["減らす", "削減", "reduce"], "within": 40}],
        ),
        Concept("parallel", 1, ["並列", "parallel"]),
    ],
    min_chars=10,
    review_band=(0.0, 1.0),
    prompt={"ja": "GoogLeNetの特徴を述べよ", "en": "Describe GoogLeNet."},
    wrong_claims=[
        {
            "id": "halves",
            "concept": "reduce",
            "subject": ["1x1"],
            "relation": ["半分", "halve"],
            "within": 40,
            "label": {"en": "1x1 keeps the size", "ja": "1x1 は縦横を変えない"},
        },
        {"id": "resnet_idea", "subject": ["残差", "residual"], "unless": ["resnet"]},
    ],
)


@pytest.mark.parametrize(
    "answer",
    [
        "1x1の畳み込みでチャンネル数を減らし、複数のフィルタを並列に使う。",
        "1x1のたたみこみでちゃんねる数をへらして、フィルタを並列につかう。",  # kana spelling, inflected
        "Pointwise convolutions reduce the channels, and filters run in parallel.",
    ],
)
def test_a_claim_needs_its_subject_and_relation(answer):
    results = score_free_text(answer, CLAIM_RUBRIC)
    assert found(results) == {"reduce", "parallel"}, [r.message for r in results]


def test_a_named_concept_without_its_claim_goes_to_review():
    results = score_free_text("It uses 1x1 convolutions, and its filters run in parallel.", CLAIM_RUBRIC)
    by_key = {r.message_args["concept"]: r.message_key for r in results}
    assert by_key == {"reduce": "quiz.no_claim", "parallel": "quiz.found"}
    assert statuses(results)["reduce"] is Status.NEEDS_REVIEW and total(results) == (1.0, 2.0)


def test_subject_and_relation_in_different_sentences_make_no_claim():
    results = score_free_text("It uses 1x1 convolutions in parallel. Pooling layers reduce the size.", CLAIM_RUBRIC)
    assert "reduce" not in found(results)


def test_a_negated_claim_is_not_credited():
    results = score_free_text("1x1の畳み込みでチャンネル数は減らさない。フィルタは並列に使う。", CLAIM_RUBRIC)
    assert statuses(results)["reduce"] is Status.NEEDS_REVIEW and "reduce" not in found(results)


def test_a_known_wrong_claim_costs_its_concept_and_names_it():
    results = score_free_text("1x1 convolutions halve the height and width; filters run in parallel.", CLAIM_RUBRIC)
    reduce = next(r for r in results if r.message_args["concept"] == "reduce")
    assert reduce.status is Status.FAIL and reduce.message_key == "quiz.wrong_claim"
    assert reduce.message_args["wrong"] == "halves" and "1x1 keeps the size" in reduce.message
    assert "1x1 は縦横を変えない" in t(reduce.message_key, "ja", **reduce.message_args)


def test_a_swapped_attribution_costs_every_concept_unless_it_is_a_comparison():
    swapped = score_free_text("1x1の畳み込みで次元を削減し、並列に計算する。残差を足して勾配消失を防ぐ。", CLAIM_RUBRIC)
    assert total(swapped) == (0.0, 2.0)
    assert {r.message_key for r in swapped} == {"quiz.wrong_claim"}
    compared = score_free_text("1x1の畳み込みで次元を削減し、並列に計算する。ResNetの残差接続とは違う。", CLAIM_RUBRIC)
    assert total(compared) == (2.0, 2.0)


def test_a_wrong_claim_of_negated_polarity():
    rubric = Rubric(
        "t",
        [Concept("tradeoff", 1, ["trade-off", "トレードオフ"], negations=[])],
        min_chars=10,
        review_band=(0.0, 1.0),
        wrong_claims=[{"id": "none", "subject": ["trade-off", "トレードオフ"], "negated": True}],
    )
    assert total(score_free_text("So there is a trade-off between the two.", rubric)) == (1.0, 1.0)
    assert total(score_free_text("So there is no trade-off between the two.", rubric)) == (0.0, 1.0)
    assert total(score_free_text("両者にトレードオフは存在しない。", rubric)) == (0.0, 1.0)


@pytest.mark.parametrize(
    "answer",
    [
        "1x1, reduce, parallel",
        "1x1、次元削減、並列",
        "- pointwise conv\n- channel reduction\n- parallel filters",
        "Q(s,a), reduce, parallel",
    ],
)
def test_a_bare_list_of_terms_goes_to_review_with_no_points(answer):
    results = score_free_text(answer, CLAIM_RUBRIC)
    assert total(results) == (0.0, 2.0)
    assert {(r.status, r.message_key) for r in results} == {(Status.NEEDS_REVIEW, "quiz.keywords_only")}


@pytest.mark.parametrize("answer", ["GoogLeNetの特徴を述べよ", "Describe GoogLeNet.", "GoogLeNet の特徴を述べよ。"])
def test_the_copied_question_goes_to_review(answer):
    results = score_free_text(answer, CLAIM_RUBRIC)
    assert {(r.status, r.message_key) for r in results} == {(Status.NEEDS_REVIEW, "quiz.copied_question")}


def test_a_prose_answer_the_scorer_cannot_place_goes_to_review():
    results = score_free_text(
        "It mixes several receptive fields cheaply inside every block of the network.", CLAIM_RUBRIC
    )
    assert {r.status for r in results} == {Status.NEEDS_REVIEW}


def test_schema_2_claims_and_wrong_claims_load(tmp_path):
    path = tmp_path / "r.json"
    path.write_text(
        json.dumps(
            {
                "schema": "dlgrade.rubrics/2",
                "questions": [
                    {
                        "id": "g",
                        "type": "free_text",
                        "concepts": [
                            {"id": "reduce", "points": 1, "claims": [{"subject": ["1x1"], "relation": ["reduce"]}]}
                        ],
                        "wrong_claims": [{"id": "halves", "subject": ["1x1"], "relation": ["halve"]}],
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    rubric = load_rubrics(path)["g"]
    assert found(score_free_text("1x1 convolutions reduce the channels.", rubric)) == {"reduce"}
    path.write_text(json.dumps({"schema": "dlgrade.rubrics/3", "questions": []}), encoding="utf-8")
    with pytest.raises(RubricError, match="schema"):
        load_rubrics(path)


@pytest.mark.parametrize(
    "bad",
    [
        {"claims": [{"subject": []}]},
        {"claims": [{"subject": ["a"], "relations": ["b"]}]},
    ],
)
def test_malformed_claims_are_refused(bad):
    with pytest.raises(RubricError):
        Concept("x", 1, ["a"], **bad)
    with pytest.raises(RubricError):
        Rubric("q", [Concept("x", 1, ["a"])], wrong_claims=[{"subject": ["a"]}])  # no id


def test_claims_and_morphology_stay_fast_on_a_long_answer():
    import time

    answer = ("1x1の畳み込みでチャンネル数を減らさない。residual " * 400)[:10_000]
    start = time.perf_counter()
    score_free_text(answer * 5, CLAIM_RUBRIC)
    assert time.perf_counter() - start < 2.0


def test_without_the_tagger_scoring_falls_back_to_the_surface(monkeypatch):
    from grader.checks import japanese

    monkeypatch.setattr(japanese, "_tagger", lambda: None)
    rubric = Rubric(
        "g", [Concept("reduce", 1, ["1x1"], claims=[{"subject": ["1x1"], "relation": ["削減"]}])], min_chars=10
    )
    assert found(score_free_text("1x1の畳み込みで次元を削減する。", rubric)) == {"reduce"}
    # no morphology to tell a Japanese list from a sentence: scored, not called a list
    assert {r.message_key for r in score_free_text("1x1、削減", rubric)} == {"quiz.found"}
