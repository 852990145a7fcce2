"""Tasks for writing, previewing and publishing the blog (run `invoke --list`)."""

import shutil
import sys
from pathlib import Path

from invoke import task

from blogkit.build import ROOT, BuildError, build as strict_build

SETTINGS = ROOT / "pelicanconf.py"
PUBLISH_SETTINGS = ROOT / "publishconf.py"
OUTPUT = ROOT / "output"
CONTENT = ROOT / "content"


def _build_or_exit(settings=SETTINGS, output=OUTPUT, overrides=None):
    try:
        result = strict_build(settings, output, overrides)
    except BuildError as exc:
        for notice in exc.notices:
            print(f"note: {notice}", file=sys.stderr)
        sys.exit(str(exc))
    for notice in result.notices:
        print(f"note: {notice}")
    print(f"Built {result.output} in {result.seconds:.2f} s")
    return result


@task
def clean(c):
    """Remove the output folder and Pelican's cache."""
    for path in (OUTPUT, ROOT / "cache"):
        shutil.rmtree(path, ignore_errors=True)


@task(help={
    "content": "Content folder (default content/)",
    "output": "Output folder (default output/)",
    "future": "Include posts dated in the future (normally scheduled and left out)",
})
def build(c, content=None, output=None, future=False):
    """Build the site strictly into output/ (any warning or error fails it)."""
    overrides = {"PATH": str(Path(content).resolve())} if content else {}
    if future:
        overrides["WITH_FUTURE_DATES"] = True
    _build_or_exit(output=Path(output).resolve() if output else OUTPUT, overrides=overrides or None)


@task(pre=[clean])
def rebuild(c):
    """Clean, then build from scratch."""
    _build_or_exit()


@task(help={"port": "Port on 127.0.0.1 (default 8000)", "no_build": "Serve output/ as it is"})
def serve(c, port=8000, no_build=False):
    """Build, then serve output/ on http://127.0.0.1:8000."""
    from blogkit.serve import serve as serve_output

    if not no_build:
        _build_or_exit(overrides={"SITEURL": f"http://127.0.0.1:{port}"})
    serve_output(OUTPUT, port=int(port))


@task(help={"port": "Port on 127.0.0.1 (default 8000)"})
def livereload(c, port=8000):
    """Serve on http://127.0.0.1:8000, rebuild on change, reload the browser."""
    from blogkit.serve import livereload as run_livereload

    run_livereload(SETTINGS, OUTPUT, port=int(port))


@task(help={"title": "The post's title", "category": "Its category (default Consulting)"})
def new_post(c, title, category="Consulting"):
    """Create a draft post content/posts/YYYY/<slug>.md."""
    from blogkit.newpost import new_post as make_post

    print(f"Created {make_post(title, CONTENT, category=category).relative_to(ROOT)}")


@task(help={
    "port": "Port of the comment server on 127.0.0.1 (default 8080)",
    "site_port": "Port the previewed blog runs on (default 8000), allowed by CORS",
    "password": "Admin password (default: a new random one, printed)",
})
def comments_server(c, port=8080, site_port=8000, password=None):
    """Run a local Isso (moderation on, SQLite in comments-data/) for previews; prints the admin URL."""
    import signal

    from blogkit.comments import DATA, CommentsError, start_isso

    # Stopping this task (Ctrl-C or SIGTERM) stops its Isso too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sites = [f"http://127.0.0.1:{site_port}", f"http://localhost:{site_port}"]
    try:
        server = start_isso(DATA, int(port), sites, admin_password=password)
    except CommentsError as exc:
        sys.exit(str(exc))
    print(f"Isso {server.url} (moderation on, database {DATA / 'comments.db'}, log {server.log})")
    print(f"Admin:  {server.admin_url}  password: {server.admin_password}")
    print(f"Preview the blog with it:  ISSO_URL={server.url} uv run invoke serve --port {site_port}")
    sys.stdout.flush()
    try:
        server.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@task(help={
    "isso": "URL of the running Isso (default $ISSO_URL or http://127.0.0.1:8080)",
    "site": "A built site whose pages name the threads (default: build one now with --isso)",
    "dry_run": "Say what would be written, write nothing",
})
def comments_export(c, isso=None, site=None, dry_run=False):
    """Write the approved comments of a running Isso into content/comments/ (archived format)."""
    import os

    from blogkit.build import load_settings
    from blogkit.comments import CommentsError, export_comments, site_thread_ids, thread_ids
    from plugins.comments import _timezone

    settings = load_settings(SETTINGS)
    url = isso or os.environ.get("ISSO_URL") or "http://127.0.0.1:8080"
    folder = Path(settings["PATH"]) / settings.get("COMMENTS", {}).get("path", "comments")
    try:
        uris = thread_ids(Path(site).resolve()) if site else site_thread_ids(SETTINGS, url)
        result = export_comments(url, uris, folder, _timezone(settings.get("TIMEZONE")), dry_run=dry_run)
    except CommentsError as exc:
        sys.exit(str(exc))
    verb = "Would write" if dry_run else "Wrote"
    for path, count in result.written.items():
        print(f"{verb} {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {count} comment(s) from Isso")
    print(f"{result.threads} thread(s) read, {len(result.written)} file(s) with approved comments")


@task(
    help={
        "path": "The Blogger export (.xml from Back up content, or Takeout's feed.atom)",
        "content": "Content folder to import into (default content/)",
        "download_images": "Download Blogger-hosted images into each post's folder (default on)",
        "dry_run": "List the paths that would be written; write nothing",
        "force": "Overwrite files edited since the last import",
        "isso_json": "Also write the comments in Isso's generic import format to this file",
    }
)
def import_blogger(c, path, content=None, download_images=True, dry_run=False, force=False, isso_json=None):
    """Import a Blogger export: posts, pages, labels, comments and images, keeping every old URL."""
    from blogkit.blogger import BloggerExportError, Options, import_blogger as run_import
    from blogkit.blogger.importer import terminal_progress
    from blogkit.build import load_settings

    CONTENT.mkdir(exist_ok=True)  # Pelican will not read settings whose content folder is missing
    settings = load_settings(SETTINGS)
    options = Options(
        content=Path(content).resolve() if content else CONTENT, download_images=download_images,
        dry_run=dry_run, force=force, isso_json=Path(isso_json) if isso_json else None,
        timezone=settings["TIMEZONE"], article_url=settings["ARTICLE_URL"], page_url=settings["PAGE_URL"],
        # Blogger's comment-form message becomes the policy in pelicanconf.py only for the real content/.
        settings_file=None if content else SETTINGS, progress=terminal_progress(sys.stderr),
    )
    try:
        report = run_import(path, options)
    except (BloggerExportError, ValueError) as exc:
        sys.exit(f"import-blogger: {exc}\nNothing was written.")
    print(report.summary())
    if report.protected:
        print("Some files were left alone; see 'protected' above.")
    if report.problems:
        sys.exit(f"import-blogger: {len(report.problems)} entr(ies) not imported; see 'problem' above.")


@task(help={
    "output": "Built site to check (default output/)",
    "settings": "Settings it was built with (default pelicanconf.py; publishconf.py for a production build)",
    "siteurl": "SITEURL whose absolute links map to the output root (default: the settings' SITEURL)",
})
def check(c, output=None, settings=None, siteurl=None):
    """Run the publishing gate on a built site: links, anchors, HTML, drafts, feeds."""
    from blogkit.build import load_settings
    from blogkit.check import check_site, format_report

    folder = Path(output).resolve() if output else OUTPUT
    problems = check_site(folder, load_settings(Path(settings).resolve() if settings else SETTINGS), siteurl=siteurl)
    if problems:
        sys.exit(format_report(problems))
    print(f"{folder} passed the gate: links, anchors, HTML, drafts and feeds are fine")


@task(help={
    "push": "Push the new gh-pages commit to the remote",
    "remote": "Remote to push to (default origin)",
    "branch": "Branch to publish to (default gh-pages)",
})
def publish(c, push=False, remote="origin", branch="gh-pages"):
    """Build with publishconf.py, run the gate, commit the site to gh-pages (--push: push it)."""
    from blogkit.publish import PublishError, publish as publish_site

    try:
        publish_site(ROOT, PUBLISH_SETTINGS, push=push, remote=remote, branch=branch)
    except PublishError as exc:
        sys.exit(f"publish failed: {exc}")
