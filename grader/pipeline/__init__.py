"""The grading pipeline in the trusted process: grade one submission (validate -> execute ->
evaluate -> score), reuse identical work, grade a class in parallel, and calibrate thresholds by
grading the reference solution over several seeds.
"""
