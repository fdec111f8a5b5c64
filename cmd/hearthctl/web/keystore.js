// The person's signing key in this browser: a non-extractable WebCrypto
// Ed25519 key, kept in IndexedDB (database "hearth", store "keys", one
// record per person id). Script on this origin can sign with it but never
// read it; "Forget this device" deletes the record.

const dbName = "hearth";
const store = "keys";

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(dbName, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(store, { keyPath: "id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error || new Error("IndexedDB cannot be opened"));
  });
}

async function run(mode, fn) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      const req = fn(tx.objectStore(store));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("aborted"));
    });
  } finally {
    db.close();
  }
}

// save keeps {id, key (CryptoKey), publicKey (base64), saved (ISO)}.
export function save(rec) {
  return run("readwrite", (s) => s.put(rec));
}

// load returns the record for id, or undefined.
export function load(id) {
  return run("readonly", (s) => s.get(id));
}

// ids lists the people whose keys this browser holds.
export function ids() {
  return run("readonly", (s) => s.getAllKeys());
}

export function remove(id) {
  return run("readwrite", (s) => s.delete(id));
}
