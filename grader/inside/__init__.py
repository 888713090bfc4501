"""What runs inside the sandbox, next to the student's code: the notebook worker, the kernel
helpers the injected cells call, and the evaluate phase's predictions. Nothing here is
trusted, and nothing here imports the trusted side.
"""
