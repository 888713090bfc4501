"""One message catalogue for every report, in English and Japanese.

Checks store a message key and its arguments in each CheckResult, so any reporter can render
the same result in either language; `t()` fills a message in.

Every message a student or instructor reads is here, those of the quiz, formula and old-API
checks too: no module adds entries, so a report re-renders without importing the checks.
tests/test_catalogue.py keeps it whole: both languages with the same placeholders, every key the
code uses present, none unused. Name keys in full where they are chosen ("truth_table.ok"); a key
built from a value needs its family listed in that test.
"""

from __future__ import annotations

import locale
import os
import re

LANGS = ("en", "ja")

CATALOG: dict[str, dict[str, str]] = {
    # outcomes of checks
    "pass": {"en": "correct", "ja": "正解"},
    "shape.ok": {"en": "{name} has shape {got}", "ja": "{name} の形状は {got} で正しい"},
    "shape.wrong": {
        "en": "{name} has shape {got}, expected {expected}",
        "ja": "{name} の形状が {got} になっています。期待される形状は {expected} です",
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
    "loss.diverged": {
        "en": "the loss diverged ({got} from step {step} on): usually a learning rate too large, or log(0) in the loss",
        "ja": "誤差が発散しました (ステップ {step} 以降 {got})。多くの場合、学習率が大きすぎるか、誤差関数で log(0) になっています",
    },
    "diverged": {
        "en": "{name}: training diverged (the model gives {got}): usually a learning rate too large, or log(0) in the loss",
        "ja": "{name}: 学習が発散しました (モデルの出力が {got})。多くの場合、学習率が大きすぎるか、誤差関数で log(0) になっています",
    },
    "calibrating": {"en": "measured {got} (calibration run)", "ja": "{got} を測定しました (キャリブレーション)"},
    "truth_table.ok": {"en": "{name}: all {n} rows right", "ja": "{name}: {n} 行すべて正解です"},
    "truth_table.wrong": {
        "en": "{name}: {right} of {n} rows right; wrong: {rows_en}",
        "ja": "{name}: {n} 行中 {right} 行が正解です。誤り: {rows_ja}",
    },
    "truth_table.row": {"en": "{row} -> {got} (expected {expected})", "ja": "{row} -> {got} (正解は {expected})"},
    "truth_table.ok.retrained": {
        "en": "{name}: all {n} rows right in the best of {runs} training runs ({passed} of {runs} computed the whole "
        "table). A correct network can fail from an unlucky start, so yours was trained again from other seeds",
        "ja": "{name}: {runs} 回の学習のうち最良の回で {n} 行すべて正解です ({runs} 回中 {passed} 回で全行正解)。"
        "正しいネットワークでも初期値が悪いと失敗することがあるので、別のシードで学習し直しました",
    },
    "truth_table.wrong.retrained": {
        "en": "{name}: even the best of {runs} training runs from different seeds gets {right} of {n} rows right; "
        "wrong: {rows_en}. Not bad luck: the network itself cannot learn the table",
        "ja": "{name}: 別のシードで {runs} 回学習しても、最良の回で {n} 行中 {right} 行しか正解しません。誤り: {rows_ja}。"
        "運ではなく、ネットワークそのものがこの表を学習できません",
    },
    "truth_table.wrong.no_time": {
        "en": "{name}: {right} of {n} rows right; wrong: {rows_en}. It was not trained again from other seeds: one "
        "training run takes longer than the time left for it",
        "ja": "{name}: {n} 行中 {right} 行が正解です。誤り: {rows_ja}。1 回の学習に残り時間より長くかかるため、"
        "別のシードでの学習し直しはしていません",
    },
    "not_calibrated": {
        "en": "this check has no calibrated threshold; the instructor must run `dlgrade calibrate`",
        "ja": "この項目には合格ラインがありません。講師が `dlgrade calibrate` を実行する必要があります",
    },
    # why data is missing
    "not_implemented": {
        "en": "not implemented: cell {cell} still raises NotImplementedError",
        "ja": "未実装です: セル {cell} がまだ NotImplementedError を送出しています",
    },
    "not_implemented_stub_left": {
        "en": "not implemented: cell {cell} still raises NotImplementedError; your code is there, but "
        "the template's `raise NotImplementedError()` line stops the cell: delete that line",
        "ja": "未実装です: セル {cell} がまだ NotImplementedError を送出しています。コードは書かれていますが、"
        "テンプレートの `raise NotImplementedError()` の行でセルが止まります。この行を削除してください",
    },
    "cell_raised": {
        "en": "your code in cell {cell} raised {ename}: {evalue}",
        "ja": "セル {cell} のコードでエラーが発生しました: {ename}: {evalue}",
    },
    "cell_raised.locked": {
        "en": "the provided cell {cell} raised {ename}: {evalue}. It runs what your cell {answer} defines: look there",
        "ja": "配布されたセル {cell} でエラーが発生しました: {ename}: {evalue}。このセルはあなたのセル {answer} で定義したものを使います。そちらを確認してください",
    },
    "cell_raised.old_api": {
        "en": "your code in cell {cell} raised {ename}: {evalue}. This is an old API: write {new} instead of {old}",
        "ja": "セル {cell} のコードでエラーが発生しました: {ename}: {evalue}。古い API です: {old} ではなく {new} と書いてください",
    },
    "export_failed": {
        "en": "could not read {name} after your code ran: {ename}: {evalue}",
        "ja": "コード実行後に {name} を取得できませんでした: {ename}: {evalue}",
    },
    "export_undefined": {
        "en": "could not read {name} after your code ran: your notebook does not define {variable}",
        "ja": "コード実行後に {name} を取得できませんでした: ノートブックで {variable} が定義されていません",
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
    "stopped.too_slow": {
        "en": "your network trains too slowly for the time limit (or the cell never ends): {reason}. "
        "Make the network smaller, or train fewer steps/epochs: the limit is at least twice what the exercise's suggested settings take",
        "ja": "ネットワークの学習が制限時間に対して遅すぎます (またはセルが終わりません): {reason}。"
        "ネットワークを小さくするか、学習のステップ数・エポック数を減らしてください。制限時間は課題の推奨設定にかかる時間の 2 倍以上あります",
    },
    "stopped.before": {
        "en": "the notebook stopped before this part: {reason}",
        "ja": "この部分より前でノートブックが停止しました: {reason}",
    },
    "stopped.dead": {
        "en": "the kernel died in cell {cell} (for example os._exit, a crash or the memory limit)",
        "ja": "セル {cell} でカーネルが終了しました (os._exit、クラッシュ、メモリ上限など)",
    },
    "unreadable": {
        "en": "the exported {name} could not be read: {reason}",
        "ja": "出力された {name} を読み込めませんでした: {reason}",
    },
    "too_large": {
        "en": "the submission is too large to grade: {reason}",
        "ja": "提出物が大きすぎて採点できません: {reason}",
    },
    "too_large.time": {
        "en": "the submission is too large to grade: the grader's {seconds} s for it ran out before this check",
        "ja": "提出物が大きすぎて採点できません: この提出物の採点時間 ({seconds} 秒) がこのチェックの前に尽きました",
    },
    "quiz.truncated": {
        "en": "your answer is {length} characters long; only the first {limit} were read, a person will check the rest",
        "ja": "回答が {length} 文字あります。最初の {limit} 文字だけを読みました。残りは採点者が確認します",
    },
    # notebook-level verdicts
    "nb.not_submitted": {"en": "notebook {name} was not submitted", "ja": "ノートブック {name} が提出されていません"},
    "nb.invalid": {"en": "{reason}", "ja": "ノートブックとして読み込めません: {reason}"},
    "nb.wrong_exercise": {
        "en": "{name} is not a notebook of this exercise: none of its graded cells is present",
        "ja": "{name} はこの課題のノートブックではありません (採点対象のセルがありません)",
    },
    "nb.findings_title": {"en": "{name}: the notebook itself", "ja": "{name}: ノートブック自体について"},
    "nb.locked-changed": {
        "en": "locked cell {cell} was changed; the released version was run instead",
        "ja": "編集できないセル {cell} が変更されていたため、配布時のセルを実行しました",
    },
    "nb.cell-missing": {
        "en": "graded cell {cell} was deleted; the released (empty) cell was run instead",
        "ja": "採点対象のセル {cell} が削除されていたため、配布時の (空の) セルを実行しました",
    },
    "nb.reordered": {
        "en": "graded cells were moved; they were put back in the released order and cells you added were left out",
        "ja": "採点対象のセルが移動されていたため、配布時の順に戻しました (追加したセルは実行していません)",
    },
    "nb.duplicate": {
        "en": "cell {cell} appears twice; the first one is used",
        "ja": "セル {cell} が 2 つあります。最初のものを使いました",
    },
    "nb.recovered-content": {
        "en": "cells that had lost their nbgrader metadata were recognised by their text: {cell}",
        "ja": "nbgrader メタデータが失われていたセルを内容から特定しました: {cell}",
    },
    "nb.recovered-locked": {
        "en": "locked cell {cell} was not in the notebook; it was put back as released (nothing of yours was changed)",
        "ja": "編集できないセル {cell} がノートブックになかったため、配布時のセルを戻しました (あなたの解答は変更していません)",
    },
    "nb.recovered-place": {
        "en": "answer cell {cell} had lost its nbgrader metadata; {count} cell(s) of yours in its place were graded as that answer",
        "ja": "解答セル {cell} の nbgrader メタデータが失われていたため、その位置にあるあなたのセル {count} 個をこの解答として採点しました",
    },
    # what intake (grader/intake/submission.py) did not read in a submission; never quotes the file
    "intake.title": {"en": "The files submitted", "ja": "提出されたファイル"},
    "intake.symlink": {
        "en": "{name} is a symbolic link: not read",
        "ja": "{name} はシンボリックリンクのため読み込みませんでした",
    },
    "intake.not_regular": {
        "en": "{name} is not a regular file (a pipe, socket or device): not read",
        "ja": "{name} は通常のファイルではありません (パイプ、ソケット、デバイスなど)。読み込みませんでした",
    },
    "intake.not_a_folder": {"en": "{name} is not a folder", "ja": "{name} はフォルダではありません"},
    "intake.missing": {"en": "{name} is gone: not read", "ja": "{name} が見つからないため読み込みませんでした"},
    "intake.unreadable": {"en": "{name} could not be read: {reason}", "ja": "{name} を読み込めませんでした: {reason}"},
    "intake.too_large": {
        "en": "{name} is {size} MiB; files over {limit} MiB are not read",
        "ja": "{name} は {size} MiB あります。{limit} MiB を超えるファイルは読み込みません",
    },
    "intake.too_deep": {
        "en": "folders more than {depth} levels deep were not searched (the first: {name})",
        "ja": "{depth} 階層より深いフォルダは探していません (最初のもの: {name})",
    },
    "intake.too_many_entries": {
        "en": "the submission holds more than {count} files and folders: the rest were not searched",
        "ja": "提出物のファイルとフォルダが {count} 個を超えるため、残りは探していません",
    },
    "intake.too_many_notebooks": {
        "en": "{count} notebook(s) were not read, {name} first: one submission is read up to {most} notebooks and {mib} MiB",
        "ja": "{name} をはじめ {count} 個のノートブックは読み込んでいません。1 つの提出物で読み込むのは {most} 個、{mib} MiB までです",
    },
    "intake.more_refused": {
        "en": "{count} more entries were not read",
        "ja": "ほかに {count} 個のエントリを読み込んでいません",
    },
    "intake.unsafe_write": {
        "en": "{name} is a link, or not a regular file or folder: nothing is written through it; delete it and try again",
        "ja": "{name} はリンク、または通常のファイルやフォルダではないため、書き込みません。削除してからやり直してください",
    },
    "intake.folder_too_big": {
        "en": "{name} holds more than {count} entries or is more than {depth} folders deep: delete it and try again",
        "ja": "{name} の中身が {count} 個を超えるか {depth} 階層より深いため確認できません。削除してからやり直してください",
    },
    # what of a run's files the grader did not keep (grader/intake/copyback.py, grader/intake/run_output.py)
    "output.title": {
        "en": "Files of your run that were not kept ({name})",
        "ja": "保存しなかった実行ファイル ({name})",
    },
    "output.link": {
        "en": "{name} is a symbolic link: not kept",
        "ja": "{name} はシンボリックリンクのため保存しませんでした",
    },
    "output.special": {
        "en": "{name} is not a regular file (a FIFO, socket or device): not kept",
        "ja": "{name} は通常のファイルではない (FIFO・ソケット・デバイス) ため保存しませんでした",
    },
    "output.hard_link": {
        "en": "{name} is another name (hard link) of a file already kept: not kept twice",
        "ja": "{name} は保存済みのファイルの別名 (ハードリンク) のため、重ねて保存しませんでした",
    },
    "output.size": {
        "en": "{name} ({size}) does not fit in the {limit} kept of one run: not kept",
        "ja": "{name} ({size}) は1回の実行で保存できる上限 {limit} に収まらないため保存しませんでした",
    },
    "output.files": {
        "en": "more than {limit} files and folders: the rest, from {name} on, was not kept",
        "ja": "ファイルとフォルダが {limit} 個を超えたため、{name} 以降は保存しませんでした",
    },
    "output.time": {
        "en": "keeping your files took more than {limit} s: the rest, from {name} on, was not kept",
        "ja": "ファイルの保存に {limit} 秒以上かかったため、{name} 以降は保存しませんでした",
    },
    "output.depth": {
        "en": "{name} is nested deeper than {limit} folders: not kept",
        "ja": "{name} はフォルダの階層が {limit} より深いため保存しませんでした",
    },
    "output.unreadable": {
        "en": "{name} could not be read: not kept",
        "ja": "{name} を読み込めないため保存しませんでした",
    },
    "output.disk_full": {
        "en": "{name}: the grader's disk is full, not kept",
        "ja": "{name}: 採点サーバーのディスクが一杯のため保存しませんでした",
    },
    "output.more": {
        "en": "{count} more entries were not kept ({size} of files)",
        "ja": "ほかに {count} 個のエントリを保存しませんでした (ファイル {size})",
    },
    "output.plots": {
        "en": "{count} of your figures were not kept: a report holds at most {limit} of figures",
        "ja": "図のうち {count} 枚を保存しませんでした。レポートに載せられる図は合計 {limit} までです",
    },
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
    "report.legacy": {"en": "Old API", "ja": "古い API"},
    "report.plots": {"en": "Your plots", "ja": "あなたのグラフ"},
    "report.curves": {"en": "Training curves", "ja": "学習曲線"},
    "report.resources": {"en": "Time and memory", "ja": "実行時間とメモリ"},
    "report.sandbox": {"en": "Sandbox", "ja": "サンドボックス"},
    "report.problems": {
        "en": "Problems of the grader or the environment (not your fault)",
        "ja": "採点環境の問題 (あなたの責任ではありません)",
    },
    "report.stopped": {"en": "Stopped", "ja": "停止"},
    "report.submission": {"en": "Submission", "ja": "提出物"},
    "report.grade": {"en": "Grade", "ja": "評価"},
    "report.time": {"en": "Time", "ja": "時間"},
    "report.memory": {"en": "Peak memory", "ja": "最大メモリ"},
    "status.pass": {"en": "pass", "ja": "合格"},
    "status.fail": {"en": "fail", "ja": "不合格"},
    "status.error": {"en": "error", "ja": "エラー"},
    "status.needs-review": {"en": "needs review", "ja": "要確認"},
    "status.grader-error": {"en": "grader fault", "ja": "採点側の不具合"},
    "grader_error": {
        "en": "our fault, not yours: dlgrade could not check this ({ename}: {evalue}). Your instructor sees it "
        "and will grade it again once it is fixed",
        "ja": "あなたの誤りではありません: 採点システムの不具合でこの項目を確認できませんでした ({ename}: {evalue})。"
        "教員に通知され、修正後に採点し直されます",
    },
    "dash.grader_faults": {
        "en": "{n} submissions have {checks} checks that dlgrade could not check because of a fault in dlgrade, not "
        "in the students' work: they are not counted among the common failures; fix it and grade again",
        "ja": "{n} 件の提出物で {checks} 項目が、学生の誤りではなく dlgrade の不具合のため確認できませんでした。"
        "よくある誤りには数えていません。修正して採点し直してください",
    },
    # student report
    "report.parts": {"en": "Parts", "ja": "課題一覧"},
    "report.hidden_note": {
        "en": "hidden check: only the result and the points are shown",
        "ja": "非公開の確認項目: 結果と点数のみ表示します",
    },
    "report.stopped_long": {
        "en": "The sandbox stopped your notebook here: {reason}. What ran before keeps its points; the rest could not be graded.",
        "ja": "サンドボックスがここでノートブックを停止しました: {reason}。それまでに実行された部分の点数は有効ですが、残りは採点できませんでした。",
    },
    "report.legacy_intro": {
        "en": "Your code uses calls from older TensorFlow / Keras versions; the modern call is shown for each. "
        "An old call costs no points by itself; where it made your code fail, the checks of that part say so and lose theirs.",
        "ja": "古い TensorFlow / Keras の書き方が使われています。それぞれ現在の書き方を示します。"
        "古い書き方そのものは減点しませんが、それでコードが失敗した部分では、その部分の確認項目がそのことを示し、点数を失います。",
    },
    "report.modern": {"en": "modern call", "ja": "現在の書き方"},
    "report.part_time": {"en": "time {seconds} s", "ja": "実行時間 {seconds} 秒"},
    "report.part_memory": {"en": "peak memory {mib}", "ja": "最大メモリ {mib}"},
    "report.notebook_peak": {"en": "(whole notebook)", "ja": "(ノートブック全体)"},
    "report.cpu": {"en": "CPU time", "ja": "CPU 時間"},
    "report.limits": {"en": "Limits", "ja": "制限"},
    "report.generated": {
        "en": "Made by dlgrade {version}, format {schema}",
        "ja": "dlgrade {version} で作成 (形式 {schema})",
    },
    "report.review_note": {
        "en": "A person will look at this answer; the points may change.",
        "ja": "この解答は採点者が確認します。点数が変わることがあります。",
    },
    "report.answer": {"en": "answer", "ja": "解答"},
    # the feedback page: a notebook as the grader ran it (grader/reporters/notebook_html.py)
    "feedback.section": {"en": "Your notebooks as the grader ran them", "ja": "採点時に実行されたノートブック"},
    "feedback.see": {"en": "see it in the notebook", "ja": "ノートブック上で見る"},
    "feedback.title": {"en": "Your notebook, as graded", "ja": "採点されたノートブック"},
    "feedback.back": {"en": "Back to the report", "ja": "採点レポートへ戻る"},
    "feedback.intro": {
        "en": "This is your notebook as it ran when it was graded: every output below comes from that run, "
        "not from the file you submitted. Boxes after the graded cells give each part's points and messages. "
        "HTML, JavaScript, SVG and widget outputs are not shown here.",
        "ja": "採点時に実行されたあなたのノートブックです。下の出力はすべてその実行で得られたもので、"
        "提出されたファイルに保存されていた出力ではありません。採点対象のセルの後の枠に、課題ごとの点数とメッセージを示します。"
        "HTML・JavaScript・SVG・ウィジェットの出力はここには表示しません。",
    },
    "feedback.not_run": {
        "en": "The run left no executed copy of this notebook (it was stopped before it could save one): "
        "your code is shown without outputs, and the outputs saved in your file are not shown.",
        "ja": "この実行ではノートブックの実行結果が保存されませんでした (保存前に停止しました)。"
        "コードは出力なしで表示し、提出ファイルに保存されていた出力は表示しません。",
    },
    "feedback.about": {"en": "About this notebook", "ja": "このノートブックについて"},
    "feedback.in_part": {"en": "graded in: {title}", "ja": "採点対象: {title}"},
    "feedback.cut": {
        "en": "An output was too long: {count} characters in its middle are not shown.",
        "ja": "出力が長すぎるため、途中の {count} 文字は表示していません。",
    },
    "feedback.more_outputs": {
        "en": "{count} more outputs of this cell are not shown.",
        "ja": "このセルの出力のうち {count} 個は表示していません。",
    },
    "feedback.dropped": {
        "en": "Outputs of type {types} are not shown: a notebook's HTML, scripts, SVG and widgets never run "
        "in a report.",
        "ja": "{types} 形式の出力は表示していません。ノートブックの HTML・スクリプト・SVG・ウィジェットは"
        "レポートでは実行しません。",
    },
    "feedback.image": {
        "en": "{count} image(s) not shown: too large, or not a PNG or JPEG image.",
        "ja": "{count} 個の画像を表示していません (大きすぎるか、PNG・JPEG ではありません)。",
    },
    "feedback.over_budget": {
        "en": "{count} output(s) not shown: the page reached its size limit.",
        "ja": "ページの大きさの上限に達したため、{count} 個の出力を表示していません。",
    },
    "feedback.traceback_cut": {
        "en": "The first {count} lines of this traceback are not shown.",
        "ja": "このトレースバックの最初の {count} 行は表示していません。",
    },
    "feedback.cells_cut": {
        "en": "The last {count} cells are not shown: the page reached its size limit.",
        "ja": "ページの大きさの上限に達したため、最後の {count} セルは表示していません。",
    },
    "feedback.page_cut": {
        "en": "The last {count} cells are not shown: the page reached its size limit. Their parts are boxed above.",
        "ja": "ページの大きさの上限に達したため、最後の {count} セルは表示していません。その課題の結果は上の枠に示します。",
    },
    "feedback.markdown_as_text": {
        "en": "This Markdown is long, so it is shown as written, not rendered.",
        "ja": "この Markdown は長いため、整形せずにそのまま表示しています。",
    },
    "feedback.source_cut": {
        "en": "This cell is too long: its last {count} characters are not shown.",
        "ja": "このセルは長すぎるため、最後の {count} 文字は表示していません。",
    },
    "feedback.hidden_tests": {
        "en": "This test cell ran hidden tests: it shows as released, and its output is not shown.",
        "ja": "このテストセルでは非公開のテストが実行されました。配布時の内容を表示し、出力は表示しません。",
    },
    "feedback.run_not_run": {
        "en": "This cell did not run: the notebook stopped before it.",
        "ja": "このセルは実行されませんでした (その前でノートブックが停止しました)。",
    },
    "feedback.run_stopped": {
        "en": "This cell was running when the notebook was stopped.",
        "ja": "このセルの実行中にノートブックが停止されました。",
    },
    "feedback.run_timeout": {
        "en": "This cell ran out of time and was stopped.",
        "ja": "このセルは制限時間を超えたため停止されました。",
    },
    "feedback.run_dead": {
        "en": "The kernel died while this cell ran (often: too much memory).",
        "ja": "このセルの実行中にカーネルが停止しました (メモリの使いすぎがよくある原因です)。",
    },
    # instructor dashboard
    "dash.submissions": {"en": "{n} submissions", "ja": "提出 {n} 件"},
    "dash.mean": {"en": "mean {mean}, median {median}", "ja": "平均 {mean}、中央値 {median}"},
    "dash.distribution": {"en": "Score distribution", "ja": "得点分布"},
    "dash.students": {"en": "students", "ja": "人数"},
    "dash.table": {"en": "Every submission", "ja": "全提出物"},
    "dash.pass_rates": {"en": "Pass rate per check", "ja": "確認項目ごとの合格率"},
    "dash.rate": {"en": "Pass rate", "ja": "合格率"},
    "dash.failures": {"en": "Most frequent failures", "ja": "よくある誤り"},
    "dash.count": {"en": "Count", "ja": "件数"},
    "dash.who": {"en": "Who", "ja": "該当者"},
    "dash.example": {"en": "Example message", "ja": "メッセージの例"},
    "dash.review": {"en": "Answers to look at (needs review)", "ja": "確認が必要な解答"},
    "dash.slowest": {"en": "Slowest submissions", "ja": "実行時間の長い提出物"},
    "dash.heaviest": {"en": "Heaviest submissions (peak memory)", "ja": "メモリ使用量の多い提出物"},
    "dash.problems": {"en": "Grader and environment problems", "ja": "採点環境の問題"},
    "dash.none": {"en": "nothing", "ja": "なし"},
    "dash.no_sandbox": {
        "en": "{n} submission(s) were graded WITHOUT a sandbox: not official grades.",
        "ja": "{n} 件の提出物がサンドボックスなしで採点されました。正式な成績ではありません。",
    },
    "dash.flags": {"en": "Flags", "ja": "注意"},
    "dash.flag_review": {"en": "{n} to review", "ja": "要確認 {n} 件"},
    "dash.flag_problem": {"en": "grader problem", "ja": "採点環境の問題"},
    "dash.flag_stopped": {"en": "stopped", "ja": "停止"},
    # machine formats and the console
    "ci.summary_title": {"en": "dlgrade: {assignment}", "ja": "dlgrade: {assignment}"},
    "ci.pass_mark": {"en": "Pass mark: {mark}", "ja": "合格ライン: {mark}"},
    "ci.under": {"en": "under the pass mark", "ja": "合格ライン未満"},
    "ci.over": {"en": "at or over the pass mark", "ja": "合格ライン以上"},
    "check.no_sandbox": {
        "en": "bubblewrap is not available here: your notebook ran WITHOUT a sandbox, with your own rights ({reason})",
        "ja": "bubblewrap が使えないため、サンドボックスなしで (あなたの権限で) ノートブックを実行しました ({reason})",
    },
    "check.public_only": {
        "en": "Self-check: public checks only; hidden checks are graded after you submit.",
        "ja": "自己チェック: 公開されている確認項目のみです。非公開の項目は提出後に採点されます。",
    },
    "check.skipped_in_grading": {
        "en": "check() does nothing while the notebook is being graded",
        "ja": "採点中は check() を実行しません",
    },
    "check.report": {"en": "report: {path}", "ja": "レポート: {path}"},
    "check.saved": {
        "en": "graded the file on disk ({path}, saved {when}): save the notebook first to check your latest edits",
        "ja": "ディスク上のファイルを採点しました ({path}、保存 {when})。最新の変更を確認するには先に保存してください",
    },
    # the command line: file names are never options
    "cli.path_not_option": {
        "en": "dlgrade: '{name}' is the name of a file here, so it is read as that file, never as an option; "
        "write ./{name} to say so, or rename the file",
        "ja": "dlgrade: 「{name}」はここにあるファイルの名前なので、オプションではなくそのファイルとして扱います。"
        "そのつもりなら ./{name} と書くか、ファイル名を変えてください",
    },
    "cli.no_sandbox_confirm": {
        "en": "dlgrade: grade --no-sandbox runs every submission with your own rights, without isolation. "
        "Confirm it with the environment variable {var}=1, which no file name can set: "
        "{var}=1 dlgrade grade --no-sandbox ... (a student checking their own notebook: dlgrade check --no-sandbox)",
        "ja": "dlgrade: grade --no-sandbox はすべての提出物を隔離せず、あなたの権限で実行します。"
        "ファイル名では設定できない環境変数 {var}=1 で確認してください: "
        "{var}=1 dlgrade grade --no-sandbox ... (自分のノートブックを確認する学生は dlgrade check --no-sandbox)",
    },
    # the gradebook (grader/gradebook/) and `dlgrade roster`
    "gradebook.not_a_file": {
        "en": "{url}: a gradebook lives in a file (sqlite:///course.db) or a server (postgresql://...), not in memory",
        "ja": "{url}: 成績簿はファイル (sqlite:///course.db) かサーバー (postgresql://...) に置きます。メモリ上には置けません",
    },
    "gradebook.cannot_open": {
        "en": "cannot open the gradebook {url}: {reason}",
        "ja": "成績簿 {url} を開けません: {reason}",
    },
    "gradebook.newer": {
        "en": "the gradebook {url} was written by a newer dlgrade (schema revision {revision}): upgrade dlgrade to open it",
        "ja": "成績簿 {url} は新しい版の dlgrade で書かれています (スキーマ版 {revision})。開くには dlgrade を更新してください",
    },
    "gradebook.no_student": {
        "en": "no student {student} in the roster: import the roster first (dlgrade roster import)",
        "ja": "名簿に学生 {student} がいません。先に名簿を取り込んでください (dlgrade roster import)",
    },
    "gradebook.no_submission": {"en": "no submission {submission}", "ja": "提出物 {submission} はありません"},
    "gradebook.no_run": {
        "en": "{student} has no graded submission of {assignment}",
        "ja": "{student} の {assignment} には採点済みの提出物がありません",
    },
    "gradebook.no_check": {
        "en": "no check {part}/{check} in the latest run; its checks: {known}",
        "ja": "最新の採点にチェック {part}/{check} はありません。チェック一覧: {known}",
    },
    "gradebook.bad_points": {
        "en": "{points} points: give 0 to {max}",
        "ja": "{points} 点は範囲外です。0 から {max} の間で指定してください",
    },
    # final grades, `dlgrade export` and `dlgrade publish` (grader/gradebook/grades.py, grader/cli/export.py)
    "grades.bad_late": {
        "en": "{what} {value}: give a percentage from 0% to 100%, e.g. 10%/day",
        "ja": "{what} {value}: 0% から 100% の割合で指定してください (例: 10%/day)",
    },
    "grades.no_assignment": {
        "en": "no assignment {assignment} in the gradebook; its assignments: {known}",
        "ja": "成績簿に課題 {assignment} はありません。課題一覧: {known}",
    },
    "export.policy_set": {
        "en": "late penalty of {assignment}: {per_day}% a day started after the due date, at most {cap}%",
        "ja": "{assignment} の遅延減点: 締切後 1 日 (未満を含む) ごとに {per_day}%、最大 {cap}%",
    },
    "export.late_note": {
        "en": "late by {days} day(s): -{percent}% ({points} points)",
        "ja": "{days} 日遅れ: -{percent}% ({points} 点減点)",
    },
    "export.written": {
        "en": "{path}: {students} students x {assignments} assignment(s), {fmt}",
        "ja": "{path}: 学生 {students} 人 x 課題 {assignments} 件 ({fmt})",
    },
    "export.needs_review": {
        "en": "{count} graded submission(s) still have needs-review checks that nobody decided: those checks count "
        "as graded; decide them with dlgrade override or dlgrade serve",
        "ja": "採点済みの提出物 {count} 件に、まだ誰も判断していない要確認の項目があります。その項目は自動採点の点数の"
        "ままです。dlgrade override か dlgrade serve で判断してください",
    },
    "export.worksheet_needs_assignment": {
        "en": "a Moodle grading worksheet is one assignment's: give --assignment NAME",
        "ja": "Moodle の評定ワークシートは 1 つの課題のものです。--assignment NAME を指定してください",
    },
    "export.worksheet_header": {
        "en": "not a Moodle grading worksheet: it lacks {missing}; download it from the assignment "
        "(Download grading worksheet) with the ID number or email address shown",
        "ja": "Moodle の評定ワークシートではありません ({missing} がありません)。課題の「評定ワークシートを"
        "ダウンロードする」から、ID ナンバーかメールアドレスを表示した状態でダウンロードしてください",
    },
    "export.worksheet_encoding": {
        "en": "the worksheet is neither UTF-8, UTF-16 nor Shift_JIS (cp932): download it from Moodle again",
        "ja": "ワークシートが UTF-8、UTF-16、Shift_JIS (cp932) のいずれでもありません。Moodle からダウンロードし直してください",
    },
    "export.worksheet_unmatched": {
        "en": "worksheet rows of no graded student, left as they were: {ids}",
        "ja": "採点済みの学生に対応しないワークシートの行 (変更なし): {ids}",
    },
    "export.worksheet_missed": {
        "en": "graded students with no row in the worksheet: {ids}",
        "ja": "ワークシートに行がない採点済みの学生: {ids}",
    },
    "publish.written": {
        "en": "{count} report(s) of {assignment} in {out}; {ungraded} student(s) without a graded submission",
        "ja": "{assignment} のレポート {count} 件を {out} に書きました。採点済みの提出物がない学生: {ungraded} 人",
    },
    "publish.skipped": {
        "en": "{student}: no report: the run's result is no longer stored, or the student id is not a folder name",
        "ja": "{student}: レポートなし: 採点結果が残っていないか、学籍番号がフォルダ名として使えません",
    },
    "report.review_title": {"en": "After the instructor's review", "ja": "教員による確認後の得点"},
    "report.review_graded": {"en": "(the grader gave {points})", "ja": "(自動採点では {points} 点)"},
    "report.review_decided": {
        "en": "{count} check(s) decided by the instructor, shown below beside the grader's verdict",
        "ja": "教員が判断した項目が {count} 件あります。下の表で自動採点の結果と並べて示しています",
    },
    "report.late": {
        "en": "Late by {days} day(s): -{percent}% ({points} points deducted)",
        "ja": "提出が {days} 日遅れ: -{percent}% ({points} 点減点)",
    },
    "report.override_points": {"en": "Instructor: {points} / {max}", "ja": "教員の採点: {points} / {max}"},
    "report.override_kept": {
        "en": "Instructor: the grader's points stand",
        "ja": "教員の判断: 自動採点の点数のままです",
    },
    "report.override_comment": {"en": "Comment", "ja": "コメント"},
    "roster.encoding": {
        "en": "the roster is neither UTF-8 nor Shift_JIS (cp932): save it from Excel as CSV UTF-8",
        "ja": "名簿が UTF-8 でも Shift_JIS (cp932) でもありません。Excel で「CSV UTF-8」として保存してください",
    },
    "roster.too_big": {
        "en": "the roster is larger than {limit} bytes",
        "ja": "名簿が {limit} バイトを超えています",
    },
    "roster.header": {
        "en": "no student id and name columns in the header ({header}): name them student_id, name, email",
        "ja": "見出し行 ({header}) に学籍番号と氏名の列がありません。列名を 学籍番号, 氏名, メール "
        "(または student_id, name, email) にしてください",
    },
    "roster.empty_id": {"en": "line {line}: no student id", "ja": "{line} 行目: 学籍番号がありません"},
    "roster.unreadable": {
        "en": "cannot read the roster {path}: {reason}",
        "ja": "名簿 {path} を読めません: {reason}",
    },
    "roster.bad_id": {
        "en": "line {line}: '{id}' is not a student id (a space, a control character, or over 64 characters)",
        "ja": "{line} 行目: 「{id}」は学籍番号として使えません (空白や制御文字を含むか、64 文字を超えています)",
    },
    "roster.bad_name": {
        "en": "line {line}: the name of student {id} holds a control character or a direction override: {name}",
        "ja": "{line} 行目: 学生 {id} の氏名に制御文字か表示方向の制御文字があります: {name}",
    },
    "roster.empty_name": {
        "en": "line {line}: student {id} has no name",
        "ja": "{line} 行目: 学生 {id} の氏名がありません",
    },
    "roster.bad_email": {
        "en": "line {line}: student {id}: '{email}' is not an email address",
        "ja": "{line} 行目: 学生 {id}: 「{email}」はメールアドレスではありません",
    },
    "roster.duplicate": {
        "en": "student id {id} is on more than one line: lines {lines}",
        "ja": "学籍番号 {id} が複数の行にあります: {lines} 行目",
    },
    "roster.nothing_imported": {
        "en": "nothing imported: {count} problem(s) in the roster",
        "ja": "名簿に {count} 件の問題があるため、何も取り込んでいません",
    },
    "roster.imported": {
        "en": "roster: {added} added, {changed} updated, {unchanged} unchanged; {total} students in {db}",
        "ja": "名簿: 追加 {added} 人、更新 {changed} 人、変更なし {unchanged} 人。{db} の学生は {total} 人です",
    },
    "roster.changed": {
        "en": "  {id}: {field} {old} -> {new}",
        "ja": "  {id}: {field} {old} -> {new}",
    },
    "roster.not_in_file": {
        "en": "{count} student(s) of the gradebook are not in this file and were kept: {ids}",
        "ja": "成績簿の {count} 人はこのファイルにありませんが、そのまま残しました: {ids}",
    },
    "roster.empty": {
        "en": "no students in {db}: dlgrade roster import roster.csv",
        "ja": "{db} に学生がいません: dlgrade roster import roster.csv",
    },
    # `dlgrade collect`: an LMS export read as untrusted (grader/intake/lms.py, grader/gradebook/collect.py)
    "collect.not_an_export": {
        "en": "{name} is neither a zip file nor a folder",
        "ja": "{name} は zip ファイルでもフォルダでもありません",
    },
    "collect.bad_zip": {
        "en": "{name} is not a readable zip: {reason}",
        "ja": "{name} は読める zip ではありません: {reason}",
    },
    "collect.too_many_entries": {
        "en": "{name} has {count} entries, more than {most}: nothing collected",
        "ja": "{name} の項目数が {count} で上限 {most} を超えているため、何も取り込んでいません",
    },
    "collect.too_big": {
        "en": "{name} unpacks to {size} GiB, more than {limit} GiB: nothing collected",
        "ja": "{name} は展開すると {size} GiB になり、上限 {limit} GiB を超えるため、何も取り込んでいません",
    },
    "collect.bad_name": {
        "en": "an entry whose name is neither UTF-8 nor Shift_JIS (bytes {name}): not collected",
        "ja": "名前が UTF-8 でも Shift_JIS でもない項目 (バイト列 {name}) は取り込んでいません",
    },
    "collect.absolute": {
        "en": "{name}: an absolute path: not collected",
        "ja": "{name}: 絶対パスのため取り込んでいません",
    },
    "collect.climbs_out": {
        "en": "{name}: a path that climbs out with '..': not collected",
        "ja": "{name}: '..' で外に出るパスのため取り込んでいません",
    },
    "collect.control_in_name": {
        "en": "{name}: a control character in the name: not collected",
        "ja": "{name}: 名前に制御文字があるため取り込んでいません",
    },
    "collect.name_too_long": {
        "en": "{name}...: a name longer than 255 bytes: not collected",
        "ja": "{name}...: 255 バイトを超える名前のため取り込んでいません",
    },
    "collect.encrypted": {
        "en": "{name}: encrypted: not collected",
        "ja": "{name}: 暗号化されているため取り込んでいません",
    },
    "collect.size_lies": {
        "en": "{name}: more data than the {size} bytes its header declares: not collected",
        "ja": "{name}: ヘッダーにある {size} バイトより多いデータがあるため取り込んでいません",
    },
    "collect.bad_entry": {
        "en": "{name} could not be unpacked: {reason}",
        "ja": "{name} を展開できませんでした: {reason}",
    },
    "collect.student_too_big": {
        "en": "{name}: files over {mib} MiB together: the rest not collected",
        "ja": "{name}: ファイルの合計が {mib} MiB を超えたため、残りは取り込んでいません",
    },
    "collect.skipped_plugin": {
        "en": "skipped {name}: not a file submission ({plugin})",
        "ja": "{name} はファイルの提出ではない ({plugin}) ため、取り込んでいません",
    },
    "collect.skipped_text": {
        "en": "skipped {name}: a text or link entry, not a file submission",
        "ja": "{name} はテキストまたはリンクの提出でファイルではないため、取り込んでいません",
    },
    "collect.renamed": {
        "en": "{name}: another file of the same student has the same name but for case or normalisation: kept as {renamed}",
        "ja": "{name}: 同じ学生の別のファイルと大文字小文字や正規化の違いだけの同じ名前のため、{renamed} として保存しました",
    },
    "collect.no_such_id": {"en": "no student {id} in the roster", "ja": "名簿に学生 {id} がいません"},
    "collect.no_such_name": {
        "en": "no student named {name} in the roster",
        "ja": "名簿に {name} という名前の学生がいません",
    },
    "collect.ambiguous": {
        "en": "the name {name} fits more than one student ({ids})",
        "ja": "{name} という名前に当てはまる学生が複数います ({ids})",
    },
    "collect.by_id": {"en": "by id", "ja": "番号で照合"},
    "collect.by_name": {"en": "by name", "ja": "名前で照合"},
    "collect.by_lms_id": {"en": "by LMS user id", "ja": "LMS のユーザー ID で照合"},
    "collect.late": {"en": ", late", "ja": "、期限後"},
    "collect.again": {"en": " (collected before)", "ja": " (取り込み済み)"},
    "collect.matched": {
        "en": "{id} {name} <- {ref} ({source}, {how}): {files} file(s), handed in {when}{late}{new}",
        "ja": "{id} {name} <- {ref} ({source}、{how}): ファイル {files} 個、提出 {when}{late}{new}",
    },
    "collect.unmatched": {
        "en": "UNMATCHED {ref}: {why}; kept in {path}",
        "ja": "照合できません {ref}: {why}。{path} に保存しました",
    },
    "collect.twice": {
        "en": "{id} is in this export more than once ({refs}): each kept; the latest is {latest}",
        "ja": "{id} がこのエクスポートに複数回あります ({refs})。すべて保存し、最新は {latest} です",
    },
    "collect.refused": {"en": "refused: {reason}", "ja": "拒否: {reason}"},
    "collect.summary": {
        "en": "{assignment}: {count} submission(s) collected ({new} new): {matched} matched, {unmatched} unmatched, "
        "{refused} file(s) refused; files in {root}, recorded in {db}",
        "ja": "{assignment}: 提出物 {count} 件を取り込みました (新規 {new} 件)。照合 {matched} 件、照合できない {unmatched} 件、"
        "拒否したファイル {refused} 個。ファイルは {root}、記録は {db} にあります",
    },
    # `dlgrade grade --db`: every grading recorded in the gradebook
    "gradebook.nothing_collected": {
        "en": "no submissions of {assignment} in {db}: dlgrade collect EXPORT --assignment {assignment}",
        "ja": "{db} に {assignment} の提出物がありません: dlgrade collect EXPORT --assignment {assignment}",
    },
    "gradebook.needs_out": {
        "en": "--out is needed (or --db, which grades into a folder beside the gradebook)",
        "ja": "--out を指定してください (--db を指定すると成績簿の隣のフォルダに採点結果を書きます)",
    },
    "gradebook.record_failed": {
        "en": "{name}: not recorded in the gradebook: {reason}",
        "ja": "{name}: 成績簿に記録できませんでした: {reason}",
    },
    "gradebook.recorded": {
        "en": "{count} run(s) recorded in {db}",
        "ja": "{db} に採点 {count} 件を記録しました",
    },
    # the review server and overrides (grader/web, grader/cli/serve.py, grader/cli/override.py)
    "web.login_title": {"en": "Instructor login", "ja": "教員ログイン"},
    "web.name": {"en": "Name", "ja": "名前"},
    "web.password": {"en": "Password", "ja": "パスワード"},
    "web.login": {"en": "Log in", "ja": "ログイン"},
    "web.logout": {"en": "Log out", "ja": "ログアウト"},
    "web.bad_login": {"en": "Wrong name or password.", "ja": "名前またはパスワードが違います。"},
    "web.grid": {"en": "Grades", "ja": "成績一覧"},
    "web.queue": {"en": "Review queue", "ja": "確認待ち"},
    "web.student": {"en": "Student", "ja": "学生"},
    "web.total": {"en": "Total", "ja": "合計"},
    "web.pending": {"en": "{count} to review", "ja": "確認待ち {count} 件"},
    "web.overridden_count": {"en": "{count} overridden", "ja": "修正 {count} 件"},
    "web.graders_score": {"en": "grader's score {score}", "ja": "自動採点 {score}"},
    "web.runs": {"en": "{count} run(s); latest {when}", "ja": "採点 {count} 回、最新 {when}"},
    "web.grader": {"en": "Grader's verdict", "ja": "自動採点の判定"},
    "web.override": {"en": "Override", "ja": "修正"},
    "web.overridden_by": {"en": "{points} points by {author}, {when}", "ja": "{points} 点 ({author}、{when})"},
    "web.points": {"en": "Points (0 to {max}; empty: the grader's)", "ja": "得点 (0〜{max}、空欄: 自動採点の得点)"},
    "web.comment": {"en": "Comment", "ja": "コメント"},
    "web.save": {"en": "Save", "ja": "保存"},
    "web.answer": {"en": "Student's answer (as the grader quoted it)", "ja": "学生の回答 (自動採点が引用した部分)"},
    "web.no_answer": {
        "en": "the result quotes nothing of the answer: see the student's feedback page",
        "ja": "結果に回答の引用はありません。学生のフィードバックページを見てください",
    },
    "web.found": {"en": "Concepts found", "ja": "見つかった観点"},
    "web.missing": {"en": "Concepts missing", "ja": "見つからない観点"},
    "web.reason": {"en": "Grader's reason", "ja": "自動採点の理由"},
    "web.queue_empty": {"en": "Nothing is waiting for review.", "ja": "確認待ちはありません。"},
    "web.feedback": {"en": "the whole notebook as graded: {notebook}", "ja": "採点したノートブック全体: {notebook}"},
    "web.no_feedback": {
        "en": "no kept copy of {notebook} for this run (graded without --db, or its output folder is gone)",
        "ja": "この採点の {notebook} の控えがありません (--db なしで採点したか、出力フォルダーがありません)",
    },
    "web.no_run": {
        "en": "no graded run of {assignment} for student {student}",
        "ja": "学生 {student} の {assignment} の採点結果がありません",
    },
    "web.csrf": {
        "en": "the form was not sent from this page (or the session ended): open the page again and resend",
        "ja": "このページから送られたフォームではありません (またはセッションが切れました)。ページを開き直して送信してください",
    },
    "web.bad_points": {"en": "not a number of points: {points}", "ja": "得点として読めません: {points}"},
    "web.long_comment": {"en": "the comment is over {max} characters", "ja": "コメントが {max} 文字を超えています"},
    "web.bad_name": {
        "en": "not an instructor's name (1-64 characters, no control characters or surrounding spaces): {name}",
        "ja": "教員名として使えません (1〜64 文字、制御文字や前後の空白は不可): {name}",
    },
    "web.short_password": {
        "en": "a password has {min} to {max} characters",
        "ja": "パスワードは {min}〜{max} 文字にしてください",
    },
    "web.passwords_differ": {
        "en": "the two passwords differ: nothing changed",
        "ja": "2 回のパスワードが違います。変更していません",
    },
    "web.password_set": {"en": "password set for {name} in {db}", "ja": "{db} の {name} のパスワードを設定しました"},
    "web.no_instructor": {
        "en": "nobody can log in to {db} yet: dlgrade serve --set-password [--user NAME]",
        "ja": "{db} にログインできる教員がいません: dlgrade serve --set-password [--user NAME]",
    },
    "web.serving": {
        "en": "review server on http://{host}:{port}/ (Ctrl-C to stop); gradebook {db}",
        "ja": "確認用サーバー http://{host}:{port}/ (Ctrl-C で終了)、成績簿 {db}",
    },
    "web.not_loopback": {
        "en": "warning: {host} is reachable from other machines; the server speaks plain HTTP, so passwords and grades cross the network unencrypted",
        "ja": "警告: {host} は他のマシンから接続できます。このサーバーは暗号化しない HTTP なので、パスワードと成績が平文でネットワークを流れます",
    },
    "web.overridden": {
        "en": "{student} {assignment} {check}: {points} (grader: {grader}) by {author}; total {score} / {max}",
        "ja": "{student} {assignment} {check}: {points} 点 (自動採点: {grader}) 修正者 {author}。合計 {score} / {max}",
    },
    "web.bad_check": {
        "en": "CHECK is part/check as results name them: {check}",
        "ja": "CHECK は結果の表記どおり「パート/チェック」で指定してください: {check}",
    },
    # `dlgrade rescore` (grader/pipeline/rescore.py, grader/cli/rescore.py): parts kept as graded, and why
    "rescore.kept.new_part": {
        "en": "{part}: not graded when the run was made, nothing kept to score it from: grade again",
        "ja": "{part}: 実行時には採点対象でなく、採点に使えるデータが残っていません。採点し直してください",
    },
    "rescore.kept.cells_changed": {
        "en": "{part}: its cells or the cell its values are exported after changed: kept as graded",
        "ja": "{part}: セルか、値を書き出す位置のセルが変わりました。採点時の結果のままです",
    },
    "rescore.kept.not_asked": {
        "en": "{part}: {name} was not exported when graded: kept as graded",
        "ja": "{part}: {name} は採点時に書き出されていません。採点時の結果のままです",
    },
    "rescore.kept.export_changed": {
        "en": "{part}: {name} is computed differently now: kept as graded",
        "ja": "{part}: {name} の求め方が変わりました。採点時の結果のままです",
    },
    "rescore.kept.retrain_changed": {
        "en": "{part}: its retraining (seeds, stop condition, time share) changed: kept as graded",
        "ja": "{part}: 再学習の設定 (シード、終了条件、時間配分) が変わりました。採点時の結果のままです",
    },
    "rescore.kept.evaluation_changed": {
        "en": "{part}: evaluation {name} is not the one its predictions were made by: kept as graded",
        "ja": "{part}: 評価 {name} が予測を作ったときの定義と違います。採点時の結果のままです",
    },
    "rescore.kept.hidden_changed": {
        "en": "{part}: the inputs of hidden set {dataset} are not those predicted then: kept as graded",
        "ja": "{part}: 非公開データ {dataset} の入力が予測時と違います。採点時の結果のままです",
    },
    "rescore.kept.left_out": {
        "en": "{part}: {name} ({mib} MiB) was too large to keep: kept as graded",
        "ja": "{part}: {name} ({mib} MiB) は大きすぎて保存されていません。採点時の結果のままです",
    },
    "rescore.kept.no_file": {
        "en": "{notebook}: its scoring inputs cannot be used ({reason}): its parts kept as graded",
        "ja": "{notebook}: 採点用の保存データを使えません ({reason})。各部分は採点時の結果のままです",
    },
    "rescore.kept.none": {
        "en": "none were kept: graded before dlgrade kept them",
        "ja": "保存されていません。保存する前の dlgrade で採点されています",
    },
    "rescore.removed_part": {
        "en": "{part}: no longer in the checks file: removed ({points} points)",
        "ja": "{part}: チェックファイルにもうありません。削除しました ({points} 点)",
    },
    "rescore.no_folder": {
        "en": "the run records no result folder",
        "ja": "この実行には結果フォルダの記録がありません",
    },
    "rescore.nothing": {
        "en": "no graded submission of {assignment} in {db}",
        "ja": "{db} に {assignment} の採点済みの提出がありません",
    },
    "rescore.cannot": {
        "en": "  {who}: cannot be rescored: {reason}",
        "ja": "  {who}: 再採点できません: {reason}",
    },
    "rescore.note": {
        "en": "  {who}: {note}",
        "ja": "  {who}: {note}",
    },
    "rescore.change": {
        "en": "  {who}  {check}  {old} -> {new}{override}",
        "ja": "  {who}  {check}  {old} -> {new}{override}",
    },
    "rescore.override": {
        "en": "  (override {points} in force: the student keeps it)",
        "ja": "  (上書き {points} 点が有効: 学生の点はそのままです)",
    },
    "rescore.student_total": {
        "en": "  {who}  total  {old} -> {new}",
        "ja": "  {who}  合計  {old} -> {new}",
    },
    "rescore.total": {
        "en": "{count} submission(s) rescored in {seconds} s: {gained} gain, {lost} lose, {same} unchanged; {delta} points in total",
        "ja": "{count} 件を {seconds} 秒で再採点: 上がる {gained} 件、下がる {lost} 件、変わらない {same} 件。合計 {delta} 点",
    },
    "rescore.confirm": {
        "en": "Record these as new runs (the old runs stay)? [y/N] ",
        "ja": "新しい採点実行として記録しますか (以前の実行は残ります)? [y/N] ",
    },
    "rescore.recorded": {
        "en": "recorded {count} rescore run(s) in {db}; the reports before are in <submission>/history/",
        "ja": "{db} に再採点の実行を {count} 件記録しました。以前のレポートは <提出>/history/ にあります",
    },
    "rescore.not_recorded": {
        "en": "nothing recorded: run again with --yes to record",
        "ja": "記録していません。記録するには --yes を付けて実行してください",
    },
    # parts imported from nbgrader (grader/checks/nbgrader.py): a test cell's run is the kernel's word
    "kernel.pass": {
        "en": "[kernel's word] test cell {cell} ran without an error",
        "ja": "[カーネル判定] テストセル {cell} はエラーなく実行されました",
    },
    "kernel.fail": {
        "en": "[kernel's word] test cell {cell} failed: {ename}: {evalue}",
        "ja": "[カーネル判定] テストセル {cell} が失敗しました: {ename}: {evalue}",
    },
    "kernel.not_run": {
        "en": "[kernel's word] test cell {cell} did not run to its end ({status})",
        "ja": "[カーネル判定] テストセル {cell} は最後まで実行されませんでした ({status})",
    },
    "review.manual": {
        "en": "cell {cell} is graded by a person: 0 points until then",
        "ja": "セル {cell} は採点者が採点します。それまでは 0 点です",
    },
    # free-text and multiple-choice answers (grader/checks/quiz.py)
    "quiz.not_answered": {"en": "not answered", "ja": "未回答です"},
    "quiz.found": {"en": "{concept_en}: mentioned", "ja": "{concept_ja}: 記述があります"},
    "quiz.missed": {"en": "{concept_en}: not found in your answer", "ja": "{concept_ja}: 記述が見つかりません"},
    "quiz.hint": {"en": "Explain {concept_en}.", "ja": "「{concept_ja}」について説明しましょう。"},
    "quiz.negated": {
        "en": '{concept_en}: mentioned with a negation ("{got}"); a person will check',
        "ja": "{concept_ja}: 否定とともに書かれています (「{got}」)。採点者が確認します",
    },
    "quiz.review_coverage": {
        "en": "{concept_en}: not found, but your answer may say it in other words; a person will check",
        "ja": "{concept_ja}: 見つかりませんが、別の言葉で書かれている可能性があります。採点者が確認します",
    },
    "quiz.review_language": {
        "en": "{concept_en}: not found; the answer seems to be neither Japanese nor English, a person will check",
        "ja": "{concept_ja}: 見つかりません。日本語でも英語でもない回答のようなので、採点者が確認します",
    },
    "quiz.bonus_found": {
        "en": "{concept_en}: mentioned (extra point, up to the question's total)",
        "ja": "{concept_ja}: 記述があります (加点、設問の配点まで)",
    },
    "quiz.bonus_missed": {
        "en": "{concept_en}: not mentioned (optional, no points lost)",
        "ja": "{concept_ja}: 記述なし (任意項目のため減点なし)",
    },
    "quiz.no_claim": {
        "en": '{concept_en}: named ("{got}") but your answer does not say what it does; a person will check',
        "ja": "{concept_ja}: 言葉 (「{got}」) はありますが、それが何をするかの説明が見つかりません。採点者が確認します",
    },
    "quiz.keywords_only": {
        "en": "{concept_en}: your answer is a list of terms, not an explanation; a person will check",
        "ja": "{concept_ja}: 回答が用語の列挙だけで、説明になっていません。採点者が確認します",
    },
    "quiz.copied_question": {
        "en": "{concept_en}: your answer repeats the question; a person will check",
        "ja": "{concept_ja}: 回答が設問の繰り返しになっています。採点者が確認します",
    },
    "quiz.wrong_claim": {
        "en": '{concept_en}: your answer says something that is not right here ("{got}": {wrong_en})',
        "ja": "{concept_ja}: この設問には当てはまらない記述があります (「{got}」: {wrong_ja})",
    },
    "quiz.choice_correct": {"en": "correct", "ja": "正解"},
    "quiz.choice_wrong": {"en": "incorrect", "ja": "不正解"},
    "quiz.choice_wrong_reveal": {
        "en": "incorrect: the answer is {expected}",
        "ja": "不正解: 正解は {expected} です",
    },
    "quiz.choice_unreadable": {
        "en": 'could not read "{got}" as one of the options {options}; a person will check',
        "ja": "「{got}」を選択肢 {options} のどれとも読み取れませんでした。採点者が確認します",
    },
    "quiz.choice_hint_multi": {
        "en": "Several options can be correct: choose all that apply.",
        "ja": "正しい選択肢は複数あります。すべて選んでください。",
    },
    # a function checked against a formula on fixed inputs (Formula in grader/checks/core.py)
    "formula.ok": {
        "en": "{name}: matches the formula on {n} fixed inputs",
        "ja": "{name}: 固定した {n} 通りの入力で式と一致しています",
    },
    "formula.wrong": {
        "en": "{name}: differs from the formula on the fixed input {case}: expected {want}, got {value}",
        "ja": "{name}: 固定した入力 {case} で式と一致しません: 正しくは {want}、あなたの関数は {value}",
    },
    "formula.wrong_multiple": {
        "en": "{name}: differs from the formula on the fixed input {case}: expected {want} (or a constant "
        "multiple of the formula on every input), got {value}",
        "ja": "{name}: 固定した入力 {case} で式と一致しません: 正しくは {want} (どの入力でも式の同じ定数倍"
        "なら正解)、あなたの関数は {value}",
    },
    "formula.sign": {
        "en": "{name}: your function gives the formula with the opposite sign (times {factor})",
        "ja": "{name}: あなたの関数は式の符号を反対にした値 ({factor} 倍) です",
    },
    "formula.known": {
        "en": "{name}: on fixed inputs your function computes {what_en}",
        "ja": "{name}: 固定した入力で、あなたの関数は{what_ja}を計算しています",
    },
    "formula.scale": {
        "en": "{name}: your function gives the formula times {factor}; a constant factor from {low} to {high} "
        "(mean or sum over the batch) is accepted",
        "ja": "{name}: あなたの関数は式の {factor} 倍です。{low} 倍から {high} 倍までの定数倍 (バッチの平均か和) "
        "は正解として扱います",
    },
    "formula.non_finite": {
        "en": "{name}: your function gives {value} on the fixed input {case}",
        "ja": "{name}: 固定した入力 {case} で、あなたの関数は {value} になります",
    },
    "formula.not_scalar": {
        "en": "{name}: one call returns {size} numbers; it must return one number (the loss over the batch)",
        "ja": "{name}: 1 回の呼び出しで {size} 個の数が返ります。1 つの数 (バッチ全体の誤差) を返してください",
    },
    "formula.not_numbers": {
        "en": "{name}: the results are not numbers ({reason})",
        "ja": "{name}: 結果が数になっていません ({reason})",
    },
    # old TensorFlow / Keras calls, one key per finding code (grader/checks/legacy.py); fields: {old}, {new}
    # and the per-code ones in braces
    "legacy.tf1-api": {
        "en": "{names} is TensorFlow 1 API, which `import tensorflow as tf` no longer provides in "
        "TensorFlow 2. In this course, start with `{new}` instead.",
        "ja": "{names} は TensorFlow 1 の API で、TensorFlow 2 の `import tensorflow as tf` では"
        "使えません。この講座では代わりに `{new}` と書いてください。",
    },
    "legacy.tf-eager-placeholder": {
        "en": "`{old}` needs graph mode, but TensorFlow 2 runs eagerly. Call `{new}` once, right "
        "after `import tensorflow.compat.v1 as tf`.",
        "ja": "`{old}` はグラフモード専用ですが、TensorFlow 2 は Eager モードで動きます。"
        "`import tensorflow.compat.v1 as tf` の直後に一度だけ `{new}` を呼んでください。",
    },
    "legacy.tf-layers-keras3": {
        "en": "`{old}` is not available with Keras 3 (TensorFlow 2.16 and later). Use the Keras "
        "layer instead: `{new}`.",
        "ja": "`{old}` は Keras 3（TensorFlow 2.16 以降）では使えません。代わりに Keras のレイヤーを"
        "使ってください: `{new}`",
    },
    "legacy.tf-reduction-indices": {
        "en": "TensorFlow 2 renamed `reduction_indices=` to `axis=`: `{new}`.",
        "ja": "TensorFlow 2 では `reduction_indices=` は `axis=` に名前が変わりました: `{new}`",
    },
    "legacy.tf-examples-mnist": {
        "en": "`tensorflow.examples.tutorials.mnist` was removed from TensorFlow 2 (and it downloaded "
        "from the internet). Use the course's offline copy: `{new}`; "
        "`input_data.read_data_sets(...)` works as before.",
        "ja": "`tensorflow.examples.tutorials.mnist` は TensorFlow 2 で削除されました（しかも"
        "インターネットからダウンロードしていました）。講座のオフライン版 `{new}` を使ってください。"
        "`input_data.read_data_sets(...)` はそのまま使えます。",
    },
    "legacy.course-load-mnist": {
        "en": "`{old}` imports a file from the course's own folder, which is not here. Use `{new}`; "
        "`load_mnist(...)` takes the same arguments.",
        "ja": "`{old}` は講座のフォルダにあるファイルを読み込みますが、ここにはありません。"
        "`{new}` を使ってください。`load_mnist(...)` の引数は同じです。",
    },
    "legacy.keras-optimizer-lr": {
        "en": "Keras 3 does not accept `{arg}=`: use `learning_rate=` instead, e.g. `{new}`.",
        "ja": "Keras 3 では `{arg}=` は使えません。`learning_rate=` を使ってください（例: `{new}`）。",
    },
    "legacy.keras-optimizer-decay": {
        "en": "Keras 3 ignores `decay=` with only a warning, so the learning rate never decays. "
        "Remove it, or pass a schedule as `learning_rate=`: `{new}`.",
        "ja": "Keras 3 は `decay=` を警告だけ出して無視するので、学習率は減衰しません。削除するか、"
        "`learning_rate=` にスケジュールを渡してください: `{new}`",
    },
    "legacy.keras-adam-epsilon-none": {
        "en": 'Keras 3 needs a number for `epsilon`: `epsilon=None` stops training with "None values '
        'not supported". Use the old default 1e-07 or leave it out: `{new}`.',
        "ja": "Keras 3 では `epsilon` に数値が必要です。`epsilon=None` だと学習の開始時に "
        '"None values not supported" で止まります。以前の既定値 1e-07 にするか、省略してください: '
        "`{new}`",
    },
    "legacy.keras-dense-output-dim": {
        "en": "`output_dim=` is Keras 1: Keras 3 calls it `units` and requires it: `{new}`.",
        "ja": "`output_dim=` は Keras 1 の書き方です。Keras 3 では `units` という名前で、省略できません: `{new}`",
    },
    "legacy.keras-layer-init": {
        "en": "`{arg}=` is Keras 1: Keras 3 calls it `{renamed}=`: `{new}`.",
        "ja": "`{arg}=` は Keras 1 の書き方です。Keras 3 では `{renamed}=` です: `{new}`",
    },
    "legacy.keras-input-arg": {
        "en": "`{arg}=` on a layer still works, but Keras 3 warns about it: give the input shape once "
        "with `keras.Input(shape=...)` as the first layer: `{new}`.",
        "ja": "レイヤーの `{arg}=` はまだ動きますが、Keras 3 では警告が出ます。最初のレイヤーとして "
        "`keras.Input(shape=...)` で入力の形を一度だけ指定してください: `{new}`",
    },
    "legacy.keras-predict-classes": {
        "en": "Keras 3 models have no `predict_classes()`. Use `np.argmax(model.predict(x), axis=-1)` "
        "for a softmax output, or `(model.predict(x) > 0.5).astype('int32')` for one sigmoid unit: "
        "`{new}`.",
        "ja": "Keras 3 のモデルには `predict_classes()` がありません。softmax の出力なら "
        "`np.argmax(model.predict(x), axis=-1)`、sigmoid 1 ユニットなら "
        "`(model.predict(x) > 0.5).astype('int32')` を使ってください: `{new}`",
    },
    "legacy.keras-generator-methods": {
        "en": "`{arg}()` was removed in Keras 3; `{renamed}()` takes generators and datasets directly: `{new}`.",
        "ja": "`{arg}()` は Keras 3 で削除されました。`{renamed}()` にジェネレーターやデータセットを"
        "そのまま渡せます: `{new}`",
    },
    "legacy.keras-fit-nb-epoch": {
        "en": "`nb_epoch=` is Keras 1: use `epochs=`: `{new}`.",
        "ja": "`nb_epoch=` は Keras 1 の書き方です。`epochs=` を使ってください: `{new}`",
    },
    "legacy.keras-history-acc": {
        "en": "With `metrics=['accuracy']`, Keras 3 records the history under 'accuracy' and "
        "'val_accuracy', not 'acc' and 'val_acc': `{new}`.",
        "ja": "`metrics=['accuracy']` のとき、Keras 3 の履歴のキーは 'acc'・'val_acc' ではなく "
        "'accuracy'・'val_accuracy' です: `{new}`",
    },
    "legacy.keras-layers-submodule": {
        "en": "Keras 3 has no `{arg}` module: import layers from `keras.layers` directly: `{new}`.",
        "ja": "Keras 3 には `{arg}` モジュールがありません。レイヤーは `keras.layers` から直接 "
        "import してください: `{new}`",
    },
    "legacy.keras-np-utils": {
        "en": "`np_utils` was removed from Keras; `to_categorical` is in `keras.utils`: `{new}`, "
        "then `to_categorical(y, num_classes)`.",
        "ja": "`np_utils` は Keras から削除されました。`to_categorical` は `keras.utils` にあります: "
        "`{new}` としてから `to_categorical(y, num_classes)` を使ってください。",
    },
    "legacy.keras-loss-space": {
        "en": "Loss names are written with underscores: `{new}`, not `{old}`.",
        "ja": "損失関数の名前は単語をアンダースコアでつなぎます。`{old}` ではなく `{new}` と書いてください。",
    },
    "legacy.sklearn-cross-validation": {
        "en": "`{arg}` was removed from scikit-learn; `train_test_split` and its relatives are in "
        "`sklearn.model_selection`: `{new}`.",
        "ja": "`{arg}` は scikit-learn から削除されました。`train_test_split` などは "
        "`sklearn.model_selection` にあります: `{new}`",
    },
    "legacy.keras-output-shape": {
        "en": "Keras 3 layers have no `output_shape`: read `{new}`, or look at `model.summary()`.",
        "ja": "Keras 3 のレイヤーには `output_shape` がありません。`{new}` を使うか、"
        "`model.summary()` で確認してください。",
    },
}


# Terminal escapes (colour codes of IPython tracebacks, cursor moves) and other control
# characters: a student's error text must read as plain text in every report.
_TERMINAL = re.compile(
    r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|[\x00-\x08\x0b-\x1f\x7f]"
)


def plain_text(text: str) -> str:
    """`text` without terminal escapes and control characters (newlines and tabs are kept)."""
    return _TERMINAL.sub("", text)


def t(key: str, lang: str = "en", **args) -> str:
    entry = CATALOG.get(key)
    if entry is None:
        return key
    template = entry.get(lang) or entry["en"]
    args = {k: plain_text(v) if isinstance(v, str) else v for k, v in args.items()}
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
