// Passkey ceremonies for the sign-in and security pages. The server sends WebAuthn
// options with binary fields as base64url and expects the answer in the same form;
// this file only converts between that and the browser API. No inline script exists,
// so the page's CSP (script-src 'self') holds.
"use strict";

(function () {
  // The page's words, in its language (data-added, data-failed, …), else English.
  function words(root, key, fallback) {
    return (root && root.dataset[key]) || fallback;
  }

  function toBytes(b64url) {
    const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    const bin = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(bin, (c) => c.charCodeAt(0));
  }

  function toB64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map((c) => Object.assign({}, c, { id: toBytes(c.id) }));
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.detail || "request failed (" + response.status + ")");
    return data;
  }

  async function register(root, status) {
    const start = await post(root.dataset.start);
    const pk = start.options.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.user.id = toBytes(pk.user.id);
    pk.excludeCredentials = withIds(pk.excludeCredentials);
    const cred = await navigator.credentials.create({ publicKey: pk });
    const name = (document.getElementById("passkey-name") || {}).value || words(root, "name", "Passkey");
    const done = await post(root.dataset.finish, {
      ceremony: start.ceremony,
      name: name,
      credential: {
        id: cred.id,
        rawId: toB64url(cred.rawId),
        type: cred.type,
        extensions: {},
        response: {
          attestationObject: toB64url(cred.response.attestationObject),
          clientDataJSON: toB64url(cred.response.clientDataJSON),
        },
      },
    });
    const codes = document.getElementById("passkey-codes");
    if (done.recovery_codes && codes) {
      const list = codes.querySelector("ol");
      for (const code of done.recovery_codes) {
        const item = document.createElement("li");
        item.textContent = code;
        list.appendChild(item);
      }
      codes.hidden = false;
      status.textContent = words(root, "added", "Passkey added.");
    } else {
      window.location.assign(root.dataset.next);
    }
  }

  async function authenticate(root) {
    const start = await post(root.dataset.start);
    const pk = start.options.publicKey;
    pk.challenge = toBytes(pk.challenge);
    pk.allowCredentials = withIds(pk.allowCredentials);
    const cred = await navigator.credentials.get({ publicKey: pk });
    await post(root.dataset.finish, {
      ceremony: start.ceremony,
      credential: {
        id: cred.id,
        rawId: toB64url(cred.rawId),
        type: cred.type,
        extensions: {},
        response: {
          authenticatorData: toB64url(cred.response.authenticatorData),
          clientDataJSON: toB64url(cred.response.clientDataJSON),
          signature: toB64url(cred.response.signature),
          userHandle: cred.response.userHandle ? toB64url(cred.response.userHandle) : null,
        },
      },
    });
    window.location.assign(root.dataset.next);
  }

  function wire(rootId, ceremony) {
    const root = document.getElementById(rootId);
    if (!root) return;
    const button = document.getElementById("passkey-button");
    const status = document.getElementById("passkey-status");
    if (!window.PublicKeyCredential) {
      status.textContent = words(root, "unsupported", "This browser does not support passkeys.");
      button.disabled = true;
      return;
    }
    button.addEventListener("click", async () => {
      button.disabled = true;
      status.textContent = words(root, "prompt", "Follow your browser's prompt…");
      try {
        await ceremony(root, status);
      } catch (e) {
        status.textContent = words(root, "failed", "That did not work:") + " " + e.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  wire("passkey-register", register);
  wire("passkey-signin", authenticate);
})();
