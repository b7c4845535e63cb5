"""The editors' loop: post-edits of sentences, reviews, and the review app (``pipeline serve``).

- ``service.py``: ``EditorService``, what an editor can do to a job (read an article's sentences,
  save or drop a post-edit, approve or reject), each change applied to the outputs at once under
  the job's lock, with the narration of changed paragraphs redone in the background.
- ``app.py``: the ASGI application (Starlette) that serves the live review pages and the JSON API.
- ``security.py``: the token, host and same-origin checks in front of it.
"""
