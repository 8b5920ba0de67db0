"""A frame sent to a tab that has just closed is logged as one line, not a traceback; any other
unretrieved task error keeps asyncio's traceback."""

import asyncio
import gc
import logging
import threading

from tornado.websocket import WebSocketClosedError

from snnlab.ui.apps import _closed_socket_handler


def _unretrieved(error: Exception) -> None:
    async def main():
        asyncio.get_running_loop().set_exception_handler(_closed_socket_handler)

        async def fail():
            raise error

        task = asyncio.ensure_future(fail())
        await asyncio.sleep(0.01)
        del task
        gc.collect()  # asyncio reports an unretrieved error when the task is collected

    # a loop of its own, in a thread of its own: Playwright's sync API (the browser tests'
    # chromium fixture) keeps a loop running in the main thread for the whole session
    runner = threading.Thread(target=asyncio.run, args=(main(),))
    runner.start()
    runner.join()


def test_a_closed_tab_is_one_line_and_other_errors_keep_their_traceback(caplog):
    with caplog.at_level(logging.INFO):
        _unretrieved(WebSocketClosedError())
    assert [r.getMessage() for r in caplog.records] == ["a frame was not sent: its tab had closed"]
    assert not any(r.exc_info for r in caplog.records)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        _unretrieved(ValueError("a bug"))
    assert any(r.levelno == logging.ERROR and r.exc_info for r in caplog.records)
