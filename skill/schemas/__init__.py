"""The result models: pydantic schemas that are at once the file format, the tools' output schemas and the
templates' context. They import nothing of the core but `layout`, so faces can import them cheaply."""
