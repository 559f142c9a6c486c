"""Pure functions and small classes over numpy frames: no I/O, no database, no asyncio.

This code runs inside worker processes. Frames are H×W×3 uint8 arrays in RGB order (as
face_recognition expects); boxes are (top, right, bottom, left) in pixels, as face_recognition
returns them.
"""
