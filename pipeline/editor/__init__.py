"""The editors' loop: post-edits of sentences, reviews, and the review app (``pipeline serve``).

- ``service.py``: ``EditorService``, what an editor can do to a job (read an article's sentences,
  save or drop a post-edit, approve or reject), each change applied to the outputs at once under
  the job's lock, with the narration of changed paragraphs redone in the background.
- ``reviews.py``: recording an approval or rejection (also ``pipeline approve``/``reject``).
- ``background.py``: the thread that narrates edited paragraphs again, yielding to every change.
- ``views.py``: how the API shows a sentence (edit, flags, history, its ``If-Match`` key).
- ``app.py``: the ASGI application (Starlette) that serves the live review pages and the JSON API;
  ``pages.py`` (HTML) and ``api.py`` (JSON) are its views, ``replies.py`` turns the service's
  errors into answers, ``contract.py`` is the ``Service`` protocol they are written against.
- ``security.py``: the token, host and same-origin checks in front of it.
"""
