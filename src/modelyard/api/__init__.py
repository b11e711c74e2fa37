"""HTTP edge: the native REST API (``/api/v1``). Routes parse, call a service, render."""
