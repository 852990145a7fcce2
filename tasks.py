"""Tasks for writing, previewing and publishing the blog (run `invoke --list`)."""

import functools
import os
import shutil
import sys
from pathlib import Path

from invoke import task as invoke_task

from blogkit.build import ROOT, BuildError, build as strict_build

SETTINGS = ROOT / "pelicanconf.py"
PUBLISH_SETTINGS = ROOT / "publishconf.py"
OUTPUT = ROOT / "output"
CONTENT = ROOT / "content"
HELP_FLAGS = ("-h", "--help")


def task(*args, **kwargs):
    """invoke's @task, answering --help wherever it is given and never acting on it."""

    def answer_help(body):
        # invoke reads `new-post --help` as the title "--help": a value that is a help
        # flag shows the task's help instead (invoke itself handles --help after a value).
        @functools.wraps(body)
        def run(c, *values, **options):
            if any(isinstance(value, str) and value in HELP_FLAGS for value in (*values, *options.values())):
                sys.stdout.flush()
                os.execv(sys.executable, [sys.executable, "-m", "invoke", "--help", body.__name__.replace("_", "-")])
            return body(c, *values, **options)

        return invoke_task(run, **kwargs)

    if len(args) == 1 and callable(args[0]) and not kwargs:
        return answer_help(args[0])
    return answer_help


def _port(value, default=8000, flag="--port") -> int:
    # Ports are taken as text (default None): invoke would turn a bad number into a traceback.
    if value is None:
        return default
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if not 0 < port < 65536:
        sys.exit(f"{flag} must be a number from 1 to 65535, not {value!r}")
    return port


def _need_java(task_name: str) -> None:
    if shutil.which("java") is None:
        sys.exit(f"{task_name}: Java is missing, and the gate's HTML check (the Nu HTML checker) needs it: "
                 "install Java 17 (e.g. apt-get install default-jre-headless)")


def _build_or_exit(settings=SETTINGS, output=OUTPUT, overrides=None):
    from blogkit.progress import build_status

    try:
        with build_status():
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
    "production": "Build with publishconf.py, as publish does (absolute URLs, no drafts)",
})
def build(c, content=None, output=None, future=False, production=False):
    """Build the site strictly into output/ (any warning or error fails it)."""
    if content and not Path(content).is_dir():
        sys.exit(f"build: there is no content folder {content}: give --content an existing folder")
    overrides = {"PATH": str(Path(content).resolve())} if content else {}
    if future:
        overrides["WITH_FUTURE_DATES"] = True
    _build_or_exit(settings=PUBLISH_SETTINGS if production else SETTINGS,
                   output=Path(output).resolve() if output else OUTPUT, overrides=overrides or None)


@task(pre=[clean])
def rebuild(c):
    """Clean, then build from scratch."""
    _build_or_exit()


@task(help={"port": "Port on 127.0.0.1 (default 8000)", "no_build": "Serve output/ as it is"})
def serve(c, port=None, no_build=False):
    """Build, then serve output/ on http://127.0.0.1:8000."""
    from blogkit.serve import ServeError, make_server, serve as serve_output

    port = _port(port)
    try:
        httpd = make_server(OUTPUT, port=port)  # before the build: a busy port fails at once
    except ServeError as exc:
        sys.exit(f"serve: {exc}")
    if not no_build:
        try:
            siteurl = f"http://127.0.0.1:{port}"
            _build_or_exit(overrides={"SITEURL": siteurl, "FEED_DOMAIN": siteurl})
        except SystemExit:
            httpd.server_close()
            raise
    serve_output(OUTPUT, port=port, httpd=httpd)


@task(help={"port": "Port on 127.0.0.1 (default 8000)"})
def livereload(c, port=None):
    """Serve on http://127.0.0.1:8000, rebuild on every save, update the open pages."""
    from blogkit.serve import ServeError, livereload as run_livereload

    try:
        run_livereload(SETTINGS, OUTPUT, port=_port(port))
    except ServeError as exc:
        sys.exit(f"livereload: {exc}")


@task(help={"title": "The post's title", "category": "Its category (default Consulting)"})
def new_post(c, title, category="Consulting"):
    """Create a draft post content/posts/YYYY/<slug>.md and print its preview address."""
    from blogkit.build import load_settings
    from blogkit.newpost import NewPostError, new_post as make_post, preview_url

    try:
        path = make_post(title, CONTENT, category=category)
    except NewPostError as exc:
        sys.exit(f"new-post: {exc}")
    print(f"Created {path.relative_to(ROOT)} (Status: draft)")
    url = preview_url(path, load_settings(SETTINGS))
    if url:
        print(f"Preview: {url} while `uv run invoke livereload` runs")


@task(help={
    "port": "Port of the comment server on 127.0.0.1 (default 8080)",
    "site_port": "Port the previewed blog runs on (default 8000), allowed by CORS",
})
def comments_server(c, port=None, site_port=None):
    """Run a local Isso (moderation on, SQLite in comments-data/) for previews; prints the admin URL."""
    import signal

    from blogkit.comments import DATA, PASSWORD_ENV, CommentsError, start_isso

    port, site_port = _port(port, 8080), _port(site_port, 8000, "--site-port")
    # Stopping this task (Ctrl-C or SIGTERM) stops its Isso too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sites = [f"http://127.0.0.1:{site_port}", f"http://localhost:{site_port}"]
    # The password comes from the environment, never the command line (which `ps` shows to everyone).
    password = os.environ.get(PASSWORD_ENV) or None
    try:
        server = start_isso(DATA, port, sites, admin_password=password)
    except CommentsError as exc:
        sys.exit(f"comments-server: {exc}")
    print(f"Isso {server.url} (moderation on, database {DATA / 'comments.db'}, log {server.log})")
    shown = f"${PASSWORD_ENV}" if password else f"{server.admin_password} (new each run; set ${PASSWORD_ENV} to choose)"
    print(f"Admin:  {server.admin_url}  password: {shown}")
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
    from blogkit.comment_files import timezone
    from blogkit.comments import CommentsError, ensure_reachable, export_comments, site_thread_ids, thread_ids

    settings = load_settings(SETTINGS)
    url = isso or os.environ.get("ISSO_URL") or "http://127.0.0.1:8080"
    folder = Path(settings["PATH"]) / settings.get("COMMENTS", {}).get("path", "comments")
    try:
        ensure_reachable(url)
        uris = thread_ids(Path(site).resolve()) if site else site_thread_ids(SETTINGS, url)
        result = export_comments(url, uris, folder, timezone(settings.get("TIMEZONE")), dry_run=dry_run)
    except CommentsError as exc:
        sys.exit(f"comments-export: {exc}")
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
    "production": "Build with publishconf.py into a temporary folder and check that, as publish does",
})
def check(c, output=None, settings=None, siteurl=None, production=False):
    """Run the publishing gate on a built site: links, anchors, HTML, drafts, feeds."""
    from blogkit.publish import PublishError, check_built, check_production

    _need_java("check")
    if production:
        try:
            check_production(ROOT, PUBLISH_SETTINGS)
        except PublishError as exc:
            sys.exit(f"check failed: {exc}")
        return
    folder = Path(output).resolve() if output else OUTPUT
    if not (folder / "index.html").is_file():
        sys.exit(f"check: {folder} is not a built site (no index.html): build it first with `uv run invoke build`")
    settings_file = Path(settings).resolve() if settings else SETTINGS
    if not settings_file.is_file():
        sys.exit(f"check: no settings file {settings_file}")
    try:
        check_built(folder, settings_file, siteurl=siteurl)
    except PublishError as exc:
        sys.exit(str(exc))


@task(help={
    "push": "Push the new gh-pages commit to the remote",
    "remote": "Remote to push to (default origin)",
    "branch": "Branch to publish to (default gh-pages)",
})
def publish(c, push=False, remote="origin", branch="gh-pages"):
    """Build with publishconf.py, run the gate, commit the site to gh-pages (--push: push it)."""
    from blogkit.publish import PublishError, publish as publish_site

    _need_java("publish")
    try:
        publish_site(ROOT, PUBLISH_SETTINGS, push=push, remote=remote, branch=branch)
    except PublishError as exc:
        sys.exit(f"publish failed: {exc}")
