"""Video and image task behaviour of the emulator: DashScope (§10.1-10.3), Kling native (§10.4,
§10.6) and OpenAI-style videos (§10.5).

The route modules :mod:`emulator.routes.dashscope`, :mod:`emulator.routes.kling` and
:mod:`emulator.routes.videos` stay thin; everything they need is here:

* :mod:`.dashscope`, :mod:`.kling` and :mod:`.videos`: each family's bodies, rules and records,
* :mod:`.specs`: what a task renders, read from its request (size, duration, reference, seed),
* :mod:`.jobs`: creating a task, rendering its MP4 once, serving it, times and progress.
"""
