"""The console's download page and package (issue 17, the manual's install and auto-upgrade)."""

from __future__ import annotations

import os

from anysupport import errors
from anysupport.console_packages import ConsolePackages
from anysupport.pages.handlers import PageHandler
from anysupport.web.base import BaseHandler, endpoint

PACKAGE_EXAMPLE = {"version": "0.1.1", "file": "anysupport-0.1.1-cp311-cp311-linux_x86_64.whl",
                   "sha256": "9f2c…", "size": 3067718, "url": "/download/anysupport-0.1.1-cp311-cp311-linux_x86_64.whl"}


def packages(handler) -> ConsolePackages:
    config = handler.config
    folder = config.console_packages or os.path.join(config.data_dir, "console")
    cached = handler.settings.get("console_packages")
    if cached is None or str(cached.folder) != folder:
        cached = handler.settings["console_packages"] = ConsolePackages(folder)
    return cached


def package_answer(handler) -> dict | None:
    newest = packages(handler).newest()
    return None if newest is None else {**newest, "url": f"/download/{newest['file']}"}


class ConsolePackageHandler(BaseHandler):
    @endpoint(auth="public", summary="The newest console package this server hands out, with its SHA-256: a console "
              "older than it offers to update from it", tags=("server",),
              responses={200: PACKAGE_EXAMPLE, 404: "no_console_package"})
    async def get(self) -> None:
        answer = package_answer(self)
        if answer is None:
            raise errors.NotFound("no_console_package")
        self.send(answer)


class PackageFileHandler(BaseHandler):
    @endpoint(auth="public", summary="A console package file (a wheel of the console_packages folder)",
              tags=("server",), responses={200: "the wheel (application/octet-stream)", 404: "no_console_package"})
    async def get(self, name: str) -> None:
        path = packages(self).path(name)
        if path is None:
            raise errors.NotFound("no_console_package")
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Content-Disposition", f'attachment; filename="{path.name}"')
        self.set_header("Content-Length", path.stat().st_size)
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 16):
                self.write(chunk)
                await self.flush()
        self.finish()


class DownloadPageHandler(PageHandler):
    template = "download.html"

    @endpoint(auth="public", summary="The console's download page (HTML): what to install on Windows, macOS and "
              "Linux, and the package", tags=("pages",), responses={200: "text/html"})
    async def get(self) -> None:
        await self.render_page(package=package_answer(self), base_url=self.base_url)


default_handlers = [
    (r"/api/v1/console/package", ConsolePackageHandler),
    (r"/download/([A-Za-z0-9._+!-]+\.whl)", PackageFileHandler),
    (r"/download", DownloadPageHandler),
]
