"""Import a Blogger blog (classic Atom backup or the current blogger:2018 export) into content/.

parse   reads either export format into one model (model.py)
convert turns post HTML into Markdown and comments into sanitised archived comments
images  downloads Blogger-hosted images at their largest size
importer plans every file, writes only what is safe (a manifest spares edited files), reports
"""

from .importer import MANIFEST, Options, Report, import_blogger
from .model import Blog, BloggerExportError, Comment, Entry
from .parse import read_export

__all__ = ["MANIFEST", "Blog", "BloggerExportError", "Comment", "Entry", "Options", "Report", "import_blogger", "read_export"]
