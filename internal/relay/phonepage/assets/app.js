// ClinicPro Images phone page. Every photo is decoded here (HEIC on iPhones
// included), scaled to at most 4032 px on its long edge and encoded again as JPEG,
// which drops EXIF and location and applies the orientation; the camera's
// DateTimeOriginal is read first and sent as its own field. Photos go in pieces, so a
// dropped connection resumes where the relay stands. Nothing is stored on the phone.
'use strict';
(function () {
  var EDGE = 4032, QUALITY = 0.9, PARALLEL = 2;
  var body = document.body;
  var MAX = +body.dataset.maxPhotos, PIECE = +body.dataset.piece;
  var $ = function (id) { return document.getElementById(id); };
  var input = $('files'), list = $('list'), sendBtn = $('send'), note = $('note');
  var items = [], ended = false, polling = false, active = 0;

  // The link is spent: keep it out of the address bar and history.
  history.replaceState(null, '', '/m/');

  var TEXT = {
    preparing: 'Preparing…', ready: 'Ready to send', queued: 'Waiting to send…', sending: 'Sending…',
    paused: 'Connection lost: it carries on by itself when the phone is back online.',
    waiting: 'Sent: waiting for the PC…', delivered: '✓ On the PC',
    notphoto: 'This file is not a photo this phone can open: take or choose a photo instead.'
  };

  function say(text, bad) { note.textContent = text || ''; note.className = bad ? 'note bad' : 'note'; }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function newKey() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ('0' + x.toString(16)).slice(-2); }).join('');
  }

  // readTaken finds EXIF's DateTimeOriginal (tag 0x9003 in the Exif IFD) in the
  // file's first 256 KB: JPEG's APP1 and HEIC's Exif item both hold "Exif\0\0" and
  // a TIFF header.
  function readTaken(buf) {
    var b = new Uint8Array(buf), d = new DataView(buf);
    for (var i = 0; i + 20 < b.length; i++) {
      if (b[i] !== 0x45 || b[i + 1] !== 0x78 || b[i + 2] !== 0x69 || b[i + 3] !== 0x66 || b[i + 4] || b[i + 5]) continue;
      try {
        var t = i + 6, le = b[t] === 0x49;
        var u16 = function (o) { return d.getUint16(t + o, le); }, u32 = function (o) { return d.getUint32(t + o, le); };
        if (u16(2) !== 42) continue;
        var find = function (ifd, tag) {
          for (var k = 0, n = u16(ifd); k < n; k++) { if (u16(ifd + 2 + k * 12) === tag) return ifd + 2 + k * 12; }
          return -1;
        };
        var e = find(u32(4), 0x8769);
        if (e < 0) return '';
        e = find(u32(e + 8), 0x9003);
        if (e < 0) return '';
        var off = u32(e + 4) > 4 ? u32(e + 8) : e + 8, s = '';
        for (var k = 0; k < 19; k++) s += String.fromCharCode(b[t + off + k]);
        var m = /^(\d{4}):(\d\d):(\d\d) (\d\d:\d\d:\d\d)$/.exec(s);
        return m ? m[1] + '-' + m[2] + '-' + m[3] + 'T' + m[4] : '';
      } catch (err) { return ''; }
    }
    return '';
  }

  function decode(file) {
    var viaImg = function () {
      return new Promise(function (resolve, reject) {
        var url = URL.createObjectURL(file), img = new Image();
        img.onload = function () { resolve({ src: img, w: img.naturalWidth, h: img.naturalHeight, done: function () { URL.revokeObjectURL(url); } }); };
        img.onerror = function () { URL.revokeObjectURL(url); reject(new Error('not an image')); };
        img.src = url;
      });
    };
    if (!window.createImageBitmap) return viaImg();
    return createImageBitmap(file, { imageOrientation: 'from-image' }).then(function (bm) {
      return { src: bm, w: bm.width, h: bm.height, done: function () { bm.close(); } };
    }, viaImg);
  }

  function reencode(file) {
    return decode(file).then(function (im) {
      var s = Math.min(1, EDGE / Math.max(im.w, im.h));
      var c = document.createElement('canvas');
      c.width = Math.max(1, Math.round(im.w * s));
      c.height = Math.max(1, Math.round(im.h * s));
      var g = c.getContext('2d');
      g.imageSmoothingQuality = 'high';
      g.drawImage(im.src, 0, 0, c.width, c.height);
      im.done();
      return new Promise(function (resolve, reject) {
        c.toBlob(function (blob) {
          c.width = c.height = 0; // gives the memory back at once (iOS limits canvases)
          if (blob) resolve(blob); else reject(new Error('encode'));
        }, 'image/jpeg', QUALITY);
      });
    });
  }

  function show(it) {
    it.li.dataset.state = it.state;
    it.status.textContent = it.msg || TEXT[it.state] || '';
    it.status.className = it.state === 'delivered' ? 'tick' : (it.state === 'refused' ? 'bad' : '');
    it.bar.hidden = !(it.state === 'sending' || it.state === 'paused');
    if (it.size) it.bar.value = it.shown / it.size;
    it.remove.hidden = it.state !== 'ready' && it.state !== 'refused';
    refreshSend();
  }

  function refreshSend() {
    var n = items.filter(function (x) { return x.state === 'ready'; }).length;
    sendBtn.disabled = ended || n === 0;
    sendBtn.textContent = n > 1 ? 'Send ' + n + ' photos' : 'Send';
  }

  function add(file) {
    if (items.length >= MAX) { say('This code takes up to ' + MAX + ' photos: press Phone in the capture window for a new code for more.', true); return; }
    var it = { key: newKey(), state: 'preparing', received: 0, shown: 0, size: 0, taken: '' };
    it.li = document.createElement('li');
    it.li.className = 'photo';
    it.li.dataset.key = it.key;
    it.img = document.createElement('img');
    it.img.alt = 'Photo ' + (items.length + 1);
    var box = document.createElement('div');
    it.status = document.createElement('p');
    it.bar = document.createElement('progress');
    it.bar.max = 1;
    it.remove = document.createElement('button');
    it.remove.type = 'button';
    it.remove.textContent = 'Remove';
    it.remove.addEventListener('click', function () {
      items.splice(items.indexOf(it), 1);
      list.removeChild(it.li);
      if (it.img.src) URL.revokeObjectURL(it.img.src);
      refreshSend();
    });
    box.append(it.status, it.bar);
    it.li.append(it.img, box, it.remove);
    list.append(it.li);
    items.push(it);
    show(it);
    file.slice(0, 262144).arrayBuffer().then(function (buf) { it.taken = readTaken(buf); }, function () {})
      .then(function () { return reencode(file); })
      .then(function (blob) {
        it.blob = blob; it.size = blob.size; it.state = 'ready';
        it.li.dataset.size = String(blob.size);
        it.img.src = URL.createObjectURL(blob);
        show(it);
      }, function () { it.state = 'refused'; it.msg = TEXT.notphoto; show(it); });
  }

  input.addEventListener('change', function () {
    say('');
    Array.prototype.forEach.call(input.files, add);
    input.value = '';
  });

  function request(method, url, form, onProgress) {
    return new Promise(function (resolve, reject) {
      var x = new XMLHttpRequest();
      x.open(method, url);
      x.timeout = 60000;
      x.setRequestHeader('X-Requested-With', 'clinicpro-phone');
      if (onProgress) x.upload.onprogress = function (e) { onProgress(e.loaded); };
      x.onload = function () {
        var j = {};
        try { j = JSON.parse(x.responseText); } catch (err) { }
        resolve({ status: x.status, json: j, retry: +(x.getResponseHeader('Retry-After') || 0) });
      };
      x.onerror = x.ontimeout = x.onabort = function () { reject(new Error('network')); };
      x.send(form || null);
    });
  }

  function finish(title, text) {
    if (ended) return;
    ended = true;
    $('main').hidden = true;
    $('ended-title').textContent = title;
    $('ended-text').textContent = text;
    $('ended').hidden = false;
  }

  var ENDED = ['This code has ended', 'Photos with a tick reached the PC. For more photos, press Phone in the capture window for a new code.'];
  var OTHER = ['This code is in use on another phone', 'Each code works on one phone only. Press Phone in the capture window for a new code.'];

  function answer(r) {
    if (r.status === 410) { finish(ENDED[0], ENDED[1]); return true; }
    if (r.status === 403) { finish(OTHER[0], OTHER[1]); return true; }
    return false;
  }

  // sync asks the relay where every photo stands: the resume point after a drop, and
  // the ticks. It reports whether the relay answered.
  function sync() {
    return request('GET', '/m/api/state').then(function (r) {
      if (answer(r) || r.status !== 200) return r.status === 200;
      var byKey = {};
      (r.json.photos || []).forEach(function (p) { byKey[p.key] = p; });
      items.forEach(function (it) {
        var p = byKey[it.key];
        if (it.state === 'preparing' || it.state === 'ready' || it.state === 'refused') return;
        it.received = p ? p.received : 0;
        if (p && p.state === 'delivered') it.state = 'delivered';
        else if (p && p.state === 'ready') it.state = 'waiting';
        it.shown = it.received;
        show(it);
      });
      return true;
    }, function () { return false; });
  }

  function upload(it) {
    var wait = 1000;
    var step = function () {
      if (ended || it.state === 'refused') return Promise.resolve();
      if (it.received >= it.size) { if (it.state !== 'delivered') it.state = 'waiting'; show(it); return Promise.resolve(); }
      it.state = 'sending';
      show(it);
      var f = new FormData();
      f.append('key', it.key);
      f.append('size', String(it.size));
      f.append('offset', String(it.received));
      if (it.taken) f.append('taken', it.taken);
      f.append('piece', it.blob.slice(it.received, it.received + PIECE), 'piece');
      return request('POST', '/m/api/photos', f, function (n) { it.shown = it.received + n; show(it); }).then(function (r) {
        if (answer(r)) return;
        if (r.status === 200) { wait = 1000; it.received = r.json.received; it.shown = it.received; return step(); }
        if (r.status === 409) return sync().then(step);
        if (r.status === 429 || r.status >= 500) return sleep(Math.max(1000, r.retry * 1000)).then(step);
        it.state = 'refused';
        it.msg = (r.json && r.json.message) || TEXT.notphoto;
        show(it);
      }, function () {
        // The network went: wait, find out what the relay kept, carry on from there.
        it.state = 'paused';
        show(it);
        return sleep(wait).then(function () {
          wait = Math.min(wait * 2, 8000);
          return sync();
        }).then(step);
      });
    };
    return step();
  }

  function pump() {
    while (active < PARALLEL && !ended) {
      var next = items.filter(function (x) { return x.state === 'queued'; })[0];
      if (!next) break;
      active++;
      upload(next).then(function () { active--; poll(); pump(); });
    }
  }

  // poll watches for the PC taking the photos (the ticks), often while any is on
  // its way, and now and then otherwise, so the phone learns when the code ends.
  function poll() {
    if (polling || ended) return;
    var pending = items.some(function (x) { return x.state === 'waiting' || x.state === 'sending' || x.state === 'paused' || x.state === 'queued'; });
    polling = true;
    sleep(pending ? 700 : 3000).then(sync).then(function () { polling = false; poll(); });
  }

  sendBtn.addEventListener('click', function () {
    items.forEach(function (it) { if (it.state === 'ready') { it.state = 'queued'; it.msg = ''; show(it); } });
    say('');
    pump();
    poll();
  });

  window.addEventListener('online', function () { sync(); });
  poll();
})();
