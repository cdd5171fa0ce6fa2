// Passkeys (WebAuthn) for the account and sign-in pages. The server gives the options as
// JSON with binary fields in base64url; the browser's API wants ArrayBuffers, and its
// answer goes back as JSON with base64url fields (the shape of PublicKeyCredential.toJSON).
(() => {
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) return;

  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };
  const toText = (buffer) => {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };
  const descriptors = (list) => (list || []).map((item) => ({ ...item, id: toBytes(item.id) }));

  const creationOptions = (options) => ({
    ...options,
    challenge: toBytes(options.challenge),
    user: { ...options.user, id: toBytes(options.user.id) },
    excludeCredentials: descriptors(options.excludeCredentials),
  });
  const requestOptions = (options) => ({
    ...options,
    challenge: toBytes(options.challenge),
    allowCredentials: descriptors(options.allowCredentials),
  });

  const credentialJson = (credential) => {
    const response = credential.response;
    const body = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toText(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      body.response.attestationObject = toText(response.attestationObject);
      if (response.getTransports) body.response.transports = response.getTransports();
    } else {
      body.response.authenticatorData = toText(response.authenticatorData);
      body.response.signature = toText(response.signature);
      if (response.userHandle) body.response.userHandle = toText(response.userHandle);
    }
    return JSON.stringify(body);
  };

  const showError = (container, message) => {
    const error = container.querySelector(".passkey-error");
    error.textContent = message;
    error.setAttribute("role", "alert");
    error.hidden = false;
  };

  const post = (url, fields) =>
    fetch(url, { method: "POST", body: new URLSearchParams(fields), credentials: "same-origin" });

  // The account page: "Add a passkey".
  const addForm = document.querySelector("form.add-passkey");
  if (addForm) {
    const label = document.createElement("label");
    label.htmlFor = "passkey-name";
    label.textContent = "Passkey name (optional)";
    const name = document.createElement("input");
    Object.assign(name, { id: "passkey-name", name: "name", type: "text", maxLength: 100 });
    name.autocomplete = "off";
    const add = document.createElement("button");
    add.type = "submit";
    add.textContent = "Add a passkey";
    addForm.append(label, name, add);
    addForm.hidden = false;
    const note = document.querySelector(".passkey-needs-script");
    if (note) note.hidden = true;
    addForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = addForm.querySelector("button[type=submit]");
      button.disabled = true;
      const csrf = addForm.querySelector("input[name=csrf_token]").value;
      try {
        const answer = await post(addForm.dataset.options, { csrf_token: csrf });
        if (!answer.ok) throw new Error("The passkey could not be started.");
        const options = creationOptions(await answer.json());
        const credential = await navigator.credentials.create({ publicKey: options });
        const saved = await post(addForm.action, {
          csrf_token: csrf,
          name: addForm.querySelector("input[name=name]").value,
          credential: credentialJson(credential),
        });
        const result = await saved.json();
        if (!saved.ok) throw new Error(result.error || "The passkey was not accepted.");
        window.location.assign(result.location);
      } catch (error) {
        showError(addForm, error instanceof Error && error.name !== "NotAllowedError"
          ? error.message : "No passkey was added.");
        button.disabled = false;
      }
    });
  }

  // The sign-in page: "Sign in with a passkey" (a discoverable passkey, no email needed).
  const signIn = document.querySelector(".passkey-login");
  if (signIn) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "secondary";
    button.textContent = "Sign in with a passkey";
    signIn.append(button);
    signIn.hidden = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const answer = await fetch("/api/v1/auth/mfa/webauthn/login/options", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: "{}",
          credentials: "same-origin",
        });
        if (!answer.ok) throw new Error("The passkey sign-in could not be started.");
        const options = requestOptions(await answer.json());
        const credential = await navigator.credentials.get({ publicKey: options });
        const done = await post("/sessions/webauthn", { credential: credentialJson(credential) });
        if (!done.ok) throw new Error("That passkey did not sign you in.");
        window.location.assign(signIn.dataset.next || "/tasks");
      } catch (error) {
        showError(signIn, error instanceof Error && error.name !== "NotAllowedError"
          ? error.message : "No passkey was used.");
        button.disabled = false;
      }
    });
  }
})();
