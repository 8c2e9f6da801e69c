"""Chat behaviour of the emulator: Anthropic messages (§8) and Gemini generateContent (§9).

The route modules :mod:`emulator.routes.anthropic` and :mod:`emulator.routes.gemini` stay thin;
everything they need is here:

* :mod:`.anthropic` and :mod:`.gemini`: each family's bodies, reply and stream events,
* :mod:`.gemini_reading`: reading a Gemini request (either spelling, images, function results),
* :mod:`.understanding`: deterministic answers that describe the real input images,
* :mod:`.tool_use`: choosing a declared tool, filling its arguments, structured output.
"""
