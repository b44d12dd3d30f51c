"""The ground floor: messages and their translation, errors, files on disk, the data folder's paths, logs,
settings readable before login, plug-in lookup, the shared encodings (canonical JSON, base64, timestamps), and
SQL scripts split into statements.

May import: the standard library and third-party packages only; nothing else of fieldapp.
"""
