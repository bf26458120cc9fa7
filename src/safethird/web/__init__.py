"""The workspace: the commands that run it (``serve``, ``users``, ``audit``, ``store``)."""
