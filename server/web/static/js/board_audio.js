/* The web board's announcements: chime then voice, one announcement at a time, in
   order, none dropped (display/audio.py is the pygame twin).  Each call's voice starts
   downloading as soon as the call arrives, so it is ready when its turn comes.  A TV
   that refuses to play without a touch keeps its queue and shows a one-time button;
   whatever waited for the button longer than a minute is no longer news and is let go.
   Every announcement's outcome is reported (options.report): played, failed (which
   sound, why) or blocked by the autoplay policy, so a silent TV shows up on the
   supervisor's device list; a silent probe at start finds a blocked TV before the
   first call does. */
(function () {
  "use strict";
  const SOUND_WATCHDOG_MS = 20000;

  function createAnnouncer(options) {
    const chime = options.chime;
    const button = options.button;
    const queue = [];
    const log = []; // every sound started / ended / blocked, for a technician's console
    const announced = []; // every announcement queued, in order
    let playing = false;
    let blocked = false;

    function note(item, url, event) {
      log.push({ id: item.id, url, event, t: performance.now() });
    }

    function enqueue(id, audioUrl, at) {
      const voice = audioUrl ? new Audio(audioUrl) : null;
      if (voice) voice.preload = "auto";
      announced.push(id);
      queue.push({ id, at, sounds: voice ? [chime, voice] : [chime], problems: [] });
      pump();
    }

    function pump() {
      if (playing || blocked || !queue.length) return;
      playing = true;
      playSound(queue[0], 0);
    }

    function playSound(item, index) {
      if (index >= item.sounds.length) {
        queue.shift();
        playing = false;
        report(item.id, item.problems.length ? "failed" : "played", item.problems.join("; "));
        pump();
        return;
      }
      const media = item.sounds[index];
      const url = media.currentSrc || media.src;
      let done = false;
      const settle = () => {
        if (done) return false;
        done = true;
        media.removeEventListener("ended", onEnded);
        media.removeEventListener("error", onError);
        clearTimeout(watchdog);
        return true;
      };
      const next = (how, why) => {
        if (!settle()) return;
        note(item, url, how);
        if (how !== "end") item.problems.push(how + " " + url.split("/").pop() + (why ? ": " + why : ""));
        playSound(item, index + 1);
      };
      const onEnded = () => next("end");
      const onError = () => next("error");
      media.addEventListener("ended", onEnded);
      media.addEventListener("error", onError);
      // A sound that neither ends nor fails (stalled download) must not silence the hall.
      const watchdog = setTimeout(() => next("timeout"), SOUND_WATCHDOG_MS);
      try { media.currentTime = 0; } catch (e) { /* not loaded yet: starts at 0 anyway */ }
      note(item, url, "start");
      const started = media.play();
      if (!started || typeof started.catch !== "function") return;
      started.catch((err) => {
        if (!(err && err.name === "NotAllowedError")) return next("error", err && err.message);
        if (!settle()) return;
        // Autoplay blocked: keep the announcement, wait for one touch of the button.
        note(item, url, "blocked");
        block(item.id, err.message);
      });
    }

    function block(id, why) {
      blocked = true;
      playing = false;
      button.hidden = false;
      report(id, "blocked", "NotAllowedError: " + (why || ""));
    }

    function report(id, status, detail) {
      if (options.report) options.report(id, status, detail || "");
    }

    /* Is sound allowed at all?  A silent copy of the chime, before any call needs it
       (its own element: the queue's chime is never touched). */
    function probe() {
      if (blocked) return;
      const test = new Audio(chime.currentSrc || chime.src);
      test.volume = 0;
      const tried = test.play();
      if (!tried || typeof tried.then !== "function") return;
      tried.then(() => test.pause(), (err) => {
        if (err && err.name === "NotAllowedError" && !blocked && !playing) block("probe", err.message);
      });
    }

    button.addEventListener("click", () => {
      button.hidden = true;
      blocked = false;
      const now = options.now();
      const fresh = queue.filter((item) => now - item.at <= options.maxAgeMs);
      queue.splice(0, queue.length, ...fresh);
      pump();
    });

    return { enqueue, queue, log, announced, probe, isBlocked: () => blocked };
  }

  window.motcuaBoardAudio = { createAnnouncer };
})();
