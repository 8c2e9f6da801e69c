"""Local AnyInt gateway emulator.

Request models follow one rule: a family that an official SDK also drives (Anthropic, Gemini and
DashScope, checked with the ``anthropic``, ``google-genai`` and ``dashscope`` packages) has the
emulator's own lenient models, because those SDKs send fields and shapes our client's strict
models reject (``cache_control``, snake_case keys, string message contents), while a family only
our client drives (Kling, OpenAI-style videos and Suno) subclasses the client's strict
``anyint.types`` request models, so the emulator accepts and rejects exactly what the client does
(Kling and videos still let unknown provider-native fields through, as contract §0.2 asks where it
is silent; Suno's fields are all modelled, so an unknown one stays a 400).

Like moto, routes are thin: :mod:`emulator.routes` parses a request, calls its family's backend
package (:mod:`emulator.chat`, :mod:`emulator.video`, :mod:`emulator.music`) and returns what it
answers; the rules, state machines and outputs live in those packages, over the shared
:class:`emulator.backend.Backend` state and the :mod:`emulator.media` synthesis.
"""
