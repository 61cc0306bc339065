"""A real RTSP server for picket's camera tests: GStreamer's gst-rtsp-server, serving one
H.264 test stream at rtsp://127.0.0.1:PORT/cam on an ephemeral port (or the port given).
Run with Debian's /usr/bin/python3 (python3-gi and gir1.2-gst-rtsp-server-1.0).

Arguments (all optional, key=value):
  auth=none|basic|digest   credentials required (user `picket`, password `s3cret`)
  pattern=ball|smpte|black|snow  videotestsrc pattern: a moving ball (white on black), a
                           still test card, black, moving noise
  dim=0.0                  darkening, 0 (none) to 1 (black): the picture's luma above
                           black falls by this share (a scene at night)
  fade_s=0                 when set, the darkening is reached gradually over this many
                           seconds from the first client on (dusk), instead of at once
  cover_s=0                when set, the lens is covered (the picture turns black) this
                           many seconds after the first client, printing {"covered": true}
  size=640x360             picture size
  fps=10                   frames per second
  gop=10                   frames per keyframe interval
  port=0                   listen port (0: ephemeral)

Prints {"port": N} once listening, then {"client": "connected"} per client connection and
{"client": "teardown"} per TEARDOWN request."""

import json
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

USER, PASSWORD = "picket", "s3cret"


def main():
    args = dict(a.split("=", 1) for a in sys.argv[1:])
    auth_mode = args.get("auth", "none")
    pattern = args.get("pattern", "ball")
    width, height = args.get("size", "640x360").split("x")
    fps = int(args.get("fps", "10"))
    gop = int(args.get("gop", "10"))
    dim = float(args.get("dim", "0"))
    fade_s = float(args.get("fade_s", "0"))
    cover_s = float(args.get("cover_s", "0"))
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(args.get("port", "0"))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( videotestsrc name=source is-live=true pattern={pattern} "
        f"! video/x-raw,width={width},height={height},framerate={fps}/1 "
        f"! videobalance name=balance "
        f"! x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate=1000 "
        f"! video/x-h264,profile=baseline ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(True)

    def darken(balance, share):
        # videobalance's contrast scales luma towards black: a share of 1 is black, and
        # anything less keeps the scene, darker and fainter (white becomes grey).
        balance.set_property("contrast", 1.0 - share)

    def on_configure(_factory, media):
        balance = media.get_element().get_by_name("balance")
        if cover_s > 0:
            source = media.get_element().get_by_name("source")

            def cover():
                source.set_property("pattern", "black")
                print(json.dumps({"covered": True}), flush=True)
                return False

            GLib.timeout_add(int(cover_s * 1000), cover)
        if fade_s <= 0:
            darken(balance, dim)
            return
        started = GLib.get_monotonic_time()

        def step():
            done = min(1.0, (GLib.get_monotonic_time() - started) / (fade_s * 1e6))
            darken(balance, dim * done)
            return done < 1.0

        GLib.timeout_add(100, step)

    factory.connect("media-configure", on_configure)
    if auth_mode != "none":
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        if auth_mode == "digest":
            auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
            auth.add_digest(USER, PASSWORD, token)
        else:
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(USER, PASSWORD), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_permission_for_role("user", "media.factory.access", True)
        permissions.add_permission_for_role("user", "media.factory.construct", True)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory("/cam", factory)
    def on_client(_server, client):
        print(json.dumps({"client": "connected"}), flush=True)
        client.connect(
            "teardown-request",
            lambda *_: print(json.dumps({"client": "teardown"}), flush=True),
        )

    server.connect("client-connected", on_client)
    server.attach(None)
    print(json.dumps({"port": server.get_bound_port()}), flush=True)
    GLib.MainLoop().run()


main()
