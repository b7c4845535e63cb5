"""Executors run the stages; this package is the driver of a run.

Follow one run from ``run.py``:

- ``run.py`` — ``run_job``: read → plan → execute → finish, under the job's lock.
- ``inputs.py`` — input files unchanged since they were read are taken from the state, not read.
- ``scope.py`` — a run on an editor's change reads and plans only the articles it touches.
- ``plan.py`` — ``Planner``: compares each article × language's content keys with the state and
  says what is up to date, what to redo and why (``ItemPlan``, a value decided once); where each
  item stands as the run goes is its ``ItemProgress``, which the recorder moves and the manifest
  reads.
- ``context.py`` / ``run_report.py`` — what one run shares (``RunContext``) and reports
  (``RunReport``, ``RunOptions``).
- ``worker.py`` — the base of the two executors; ``local.py`` (``LocalWorker``: translation in this
  process) and ``ray_executor.py`` (``RayWorker``: the same stages as ``ray.data`` actor pools).
- ``narration.py`` — ``NarrationQueue``: speech in worker threads beside translation, each
  segment recorded as it arrives.
- ``recorder.py`` — ``Recorder``: the driver's publishing and recording, shared by both executors
  (the only writer of ``outputs/`` and the state).
- ``evaluate.py`` — ``pipeline eval``: the translate stage over a test set, scored by sacrebleu.

The stages themselves live in ``pipeline/stages/``: ingest (``ingest.py``), segment
(``segment.py``), translate (``translate.py``), narrate (``narrate.py``), publish (``publish.py``).
"""
