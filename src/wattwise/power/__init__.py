"""Power management: GPU power-limit and clock tuning, CPU frequency governors.

Control is kept apart from the readers (which only measure). Every module here imports its
vendor library itself, only when used: importing this package imports none of them.
"""
