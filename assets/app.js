// picket status page: live updates over Server-Sent Events, the alarm sound and the
// flashing title while an alarm is not acknowledged, and the on-screen code keypad. The
// page works without this file; it only adds to it.
(function () {
  "use strict";
  const live = document.getElementById("live");
  const soundButton = document.getElementById("sound");
  const baseTitle = document.title;
  let audio = null;
  let beeping = null;
  let flashing = null;

  function muted() { return localStorage.getItem("picket-muted") === "1"; }

  function unacknowledged() {
    const el = document.querySelector("[data-unacked]");
    return el ? parseInt(el.getAttribute("data-unacked"), 10) || 0 : 0;
  }

  function beep() {
    if (!audio) return;
    const t = audio.currentTime;
    [0, 0.25].forEach(function (offset) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = 1400;
      gain.gain.setValueAtTime(0.25, t + offset);
      gain.gain.exponentialRampToValueAtTime(0.001, t + offset + 0.18);
      osc.connect(gain).connect(audio.destination);
      osc.start(t + offset);
      osc.stop(t + offset + 0.2);
    });
  }

  function update() {
    const n = unacknowledged();
    if (soundButton) {
      soundButton.textContent = muted() ? soundButton.dataset.unmute : soundButton.dataset.mute;
      soundButton.classList.toggle("hidden", n === 0);
    }
    if (n > 0 && !muted()) {
      if (!beeping) { beep(); beeping = setInterval(beep, 2000); }
    } else if (beeping) { clearInterval(beeping); beeping = null; }
    if (n > 0) {
      if (!flashing) {
        let on = false;
        const word = document.body.dataset.flash || "ALARM";
        flashing = setInterval(function () {
          on = !on;
          document.title = on ? "(" + n + ") " + word : baseTitle;
        }, 800);
      }
    } else if (flashing) { clearInterval(flashing); flashing = null; document.title = baseTitle; }
  }

  // Browsers start sound only after a gesture: the first tap anywhere unlocks it.
  document.addEventListener("pointerdown", function () {
    if (!audio && window.AudioContext) { audio = new AudioContext(); update(); }
  }, { once: true });

  if (soundButton) {
    soundButton.addEventListener("click", function () {
      localStorage.setItem("picket-muted", muted() ? "0" : "1");
      update();
    });
  }

  // The on-screen keypad types into the code field of its form.
  document.addEventListener("click", function (e) {
    const key = e.target.closest("[data-key]");
    if (!key) return;
    const form = key.closest("form");
    const field = form && form.querySelector("input.code");
    if (!field) return;
    e.preventDefault();
    field.value = key.dataset.key === "clear" ? "" : field.value + key.dataset.key;
  });

  // What a person has chosen or typed in the live part's forms, so a refresh that lands
  // while they are at the button (focus no longer in a field) keeps it.
  if (live) {
    ["input", "change"].forEach(function (kind) {
      live.addEventListener(kind, function (e) {
        if (e.target && e.target.name) e.target.dataset.edited = "1";
      });
    });
  }

  function edited() {
    const kept = [];
    live.querySelectorAll("[data-edited='1']").forEach(function (f) {
      if (f.form) kept.push([f.form.getAttribute("action"), f.name, f.value]);
    });
    return kept;
  }

  function restore(kept) {
    kept.forEach(function (k) {
      live.querySelectorAll("form").forEach(function (form) {
        if (form.getAttribute("action") !== k[0]) return;
        const f = form.elements.namedItem(k[1]);
        if (f && f.value !== undefined) { f.value = k[2]; f.dataset.edited = "1"; }
      });
    });
  }

  function refresh() {
    if (!live || !live.dataset.fragment) return;
    fetch(live.dataset.fragment, { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401 || r.redirected) { location.href = "/login"; return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === null) return;
        // Keep what a person is typing: refresh only when no field of the page has focus.
        const focused = document.activeElement && live.contains(document.activeElement)
          && /INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName);
        if (!focused) {
          const kept = edited();
          live.innerHTML = html;
          restore(kept);
        }
        update();
      });
  }

  if (live && window.EventSource) {
    const stream = new EventSource("/stream");
    stream.addEventListener("change", refresh);
    stream.addEventListener("error", function () { setTimeout(refresh, 3000); });
  }
  update();
})();
