"""The cards of the side panel: one :class:`~panel.viewable.Viewer` per job, its state in params.

Each card reads and changes the :class:`~cassis_lite.app.state.Session` (and the view state),
draws its own widgets from its params, and declares the ``window.cassisLite`` calls it serves in
``api`` (name -> coroutine function taking the call's JSON options); the worker builds its
dispatch table from those.
"""
