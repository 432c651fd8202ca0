"""NoneBot-facing glue shared by the plugins: services, context, arguments, replies."""
