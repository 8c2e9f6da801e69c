"""One module per AnyInt route family; reach them through :class:`anyint.AnyIntClient`."""
