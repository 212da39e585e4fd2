"""Host-side rendering: stills (thumbnails) and videos of MuJoCo scenes."""
