"""Running prompts on a Ray cluster behind the same API and durable queue (`serve --ray`).

`routing.py` decides which worker takes a prompt (pure Python); `actor.py` is the Ray actor that
runs prompts on one GPU or CPU slot; `runner.py` is the coordinator's PromptRunner for one actor.
Ray is imported only by `actor.py` and `runner.py`, and only when `--ray` is given.
"""
