"""One message catalogue for every report, in English and Japanese.

Checks store a message key and its arguments in each CheckResult, so any reporter can render
the same result in either language; `t()` fills a message in.
"""
from __future__ import annotations

import locale
import os

LANGS = ("en", "ja")

CATALOG: dict[str, dict[str, str]] = {
    # outcomes of checks
    "pass": {"en": "correct", "ja": "正解"},
    "shape.ok": {"en": "{name} has shape {got}", "ja": "{name} の形状は {got} で正しい"},
    "shape.wrong": {
        "en": "{name} has shape {got}, expected {expected}",
        "ja": "{name} の形状が {got} になっています。期待される形状は {expected} です",
    },
    "shape.unknown": {"en": "{name} has no known shape", "ja": "{name} の形状が分かりません"},
    "dtype.wrong": {
        "en": "{name} has dtype {got}, expected {expected}",
        "ja": "{name} のデータ型が {got} です。期待されるデータ型は {expected} です",
    },
    "value.ok": {"en": "{name} is right", "ja": "{name} は正しい値です"},
    "value.wrong": {
        "en": "{name} is {got}, expected {expected}",
        "ja": "{name} の値が {got} です。期待される値は {expected} です",
    },
    "close.wrong": {
        "en": "{name} is {got}, too far from {expected} (tolerance {tol})",
        "ja": "{name} が {got} で、{expected} から離れすぎています (許容誤差 {tol})",
    },
    "accuracy.ok": {
        "en": "accuracy on data you never saw: {got} (needed {threshold})",
        "ja": "未見のデータでの正解率: {got} (合格ライン {threshold})",
    },
    "accuracy.low": {
        "en": "accuracy on data you never saw is {got}, below the pass line {threshold}; a trained model reaches about {mean}",
        "ja": "未見のデータでの正解率が {got} で、合格ライン {threshold} に届きません。正しく学習したモデルは約 {mean} になります",
    },
    "predict.failed": {
        "en": "the grader could not compute predictions from your model: {reason}",
        "ja": "あなたのモデルから予測を計算できませんでした: {reason}",
    },
    "metric.ok": {"en": "{name} = {got} (pass line {threshold})", "ja": "{name} = {got} (合格ライン {threshold})"},
    "metric.bad": {
        "en": "{name} = {got}, does not reach the pass line {threshold}; the reference solution gets about {mean}",
        "ja": "{name} = {got} で、合格ライン {threshold} に届きません。模範解答は約 {mean} です",
    },
    "loss.not_decreasing": {
        "en": "the loss does not go down: first {first}, last {last}",
        "ja": "誤差が減っていません: 最初 {first}、最後 {last}",
    },
    "loss.not_finite": {"en": "the loss is not a finite number (NaN or inf)", "ja": "誤差が有限の数ではありません (NaN または inf)"},
    "calibrating": {"en": "measured {got} (calibration run)", "ja": "{got} を測定しました (キャリブレーション)"},
    "not_calibrated": {
        "en": "this check has no calibrated threshold; the instructor must run `dlgrade calibrate`",
        "ja": "この項目には合格ラインがありません。講師が `dlgrade calibrate` を実行する必要があります",
    },
    # why data is missing
    "not_implemented": {
        "en": "not implemented: cell {cell} still raises NotImplementedError",
        "ja": "未実装です: セル {cell} がまだ NotImplementedError を送出しています",
    },
    "cell_raised": {
        "en": "your code in cell {cell} raised {ename}: {evalue}",
        "ja": "セル {cell} のコードでエラーが発生しました: {ename}: {evalue}",
    },
    "export_failed": {
        "en": "could not read {name} after your code ran: {ename}: {evalue}",
        "ja": "コード実行後に {name} を取得できませんでした: {ename}: {evalue}",
    },
    "not_run": {
        "en": "this part did not run: {reason}",
        "ja": "この部分は実行されませんでした: {reason}",
    },
    "stopped.earlier": {"en": "the notebook stopped earlier", "ja": "ノートブックがそれ以前に停止しました"},
    "stopped.timeout_cell": {
        "en": "timed out after {seconds} s in cell {cell}",
        "ja": "セル {cell} で {seconds} 秒の制限時間を超えました",
    },
    "stopped.dead": {
        "en": "the kernel died in cell {cell} (for example os._exit, a crash or the memory limit)",
        "ja": "セル {cell} でカーネルが終了しました (os._exit、クラッシュ、メモリ上限など)",
    },
    "unreadable": {
        "en": "the exported {name} could not be read: {reason}",
        "ja": "出力された {name} を読み込めませんでした: {reason}",
    },
    # notebook-level verdicts
    "nb.not_submitted": {"en": "notebook {name} was not submitted", "ja": "ノートブック {name} が提出されていません"},
    "nb.invalid": {"en": "{reason}", "ja": "ノートブックとして読み込めません: {reason}"},
    "nb.wrong_exercise": {
        "en": "{name} is not a notebook of this exercise: none of its graded cells is present",
        "ja": "{name} はこの課題のノートブックではありません (採点対象のセルがありません)",
    },
    "nb.finding": {"en": "{message}", "ja": "{message}"},
    # report words
    "report.score": {"en": "Score", "ja": "得点"},
    "report.no_sandbox_short": {"en": "no sandbox", "ja": "サンドボックスなし"},
    "report.no_sandbox": {
        "en": "Graded WITHOUT a sandbox (--no-sandbox): for self-checking only, not an official grade.",
        "ja": "サンドボックスなしで採点しました (--no-sandbox)。自己確認用であり、正式な成績ではありません。",
    },
    "report.title": {"en": "Grading report", "ja": "採点レポート"},
    "report.class_title": {"en": "Class results", "ja": "クラスの採点結果"},
    "report.part": {"en": "Part", "ja": "課題"},
    "report.check": {"en": "Check", "ja": "確認項目"},
    "report.status": {"en": "Status", "ja": "結果"},
    "report.points": {"en": "Points", "ja": "点数"},
    "report.message": {"en": "What we found", "ja": "内容"},
    "report.expected": {"en": "expected", "ja": "期待値"},
    "report.got": {"en": "got", "ja": "実際"},
    "report.hint": {"en": "Hint", "ja": "ヒント"},
    "report.legacy": {"en": "Old API (no points lost)", "ja": "古い API (減点なし)"},
    "report.hidden": {"en": "hidden check", "ja": "非公開の確認項目"},
    "report.plots": {"en": "Your plots", "ja": "あなたのグラフ"},
    "report.curves": {"en": "Training curves", "ja": "学習曲線"},
    "report.resources": {"en": "Time and memory", "ja": "実行時間とメモリ"},
    "report.sandbox": {"en": "Sandbox", "ja": "サンドボックス"},
    "report.problems": {"en": "Problems of the grader or the environment (not your fault)", "ja": "採点環境の問題 (あなたの責任ではありません)"},
    "report.stopped": {"en": "Stopped", "ja": "停止"},
    "report.submission": {"en": "Submission", "ja": "提出物"},
    "report.grade": {"en": "Grade", "ja": "評価"},
    "report.time": {"en": "Time", "ja": "時間"},
    "report.memory": {"en": "Peak memory", "ja": "最大メモリ"},
    "status.pass": {"en": "pass", "ja": "合格"},
    "status.fail": {"en": "fail", "ja": "不合格"},
    "status.error": {"en": "error", "ja": "エラー"},
    "status.needs-review": {"en": "needs review", "ja": "要確認"},
}


def t(key: str, lang: str = "en", **args) -> str:
    entry = CATALOG.get(key)
    if entry is None:
        return key
    template = entry.get(lang) or entry["en"]
    try:
        return template.format(**args)
    except (KeyError, IndexError, ValueError):
        return template


def default_lang() -> str:
    """`ja` when the locale is Japanese, else `en`."""
    for var in ("DLGRADE_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    lang = (locale.getlocale()[0] or "").lower()
    return "ja" if lang.startswith("ja") else "en"
