// Compressed text in URLs: the share link's fragment and Kroki-style image links.
// Both use zlib-format deflate (CompressionStream "deflate") and URL-safe base64.

async function pipeThrough(bytes, stream) {
  const output = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(output).arrayBuffer());
}

export async function deflateText(text) {
  return pipeThrough(new TextEncoder().encode(text), new CompressionStream("deflate"));
}

export async function inflateText(bytes) {
  const plain = await pipeThrough(bytes, new DecompressionStream("deflate"));
  return new TextDecoder().decode(plain);
}

export function toBase64Url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64Url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

const SHARE_PREFIX = "#s=";

/** Encode the page state (files and options) for the URL fragment. */
export async function encodeShareFragment(state) {
  const json = JSON.stringify({ v: 1, ...state });
  return SHARE_PREFIX + toBase64Url(await deflateText(json));
}

/** Decode a fragment made by encodeShareFragment; null when there is none. */
export async function decodeShareFragment(hash) {
  if (!hash.startsWith(SHARE_PREFIX)) {
    return null;
  }
  const json = await inflateText(fromBase64Url(hash.slice(SHARE_PREFIX.length)));
  const state = JSON.parse(json);
  if (state.v !== 1 || !Array.isArray(state.files)) {
    throw new Error("The share link does not hold a project this page can read.");
  }
  return state;
}

/** Return the GET URL that renders this compose text, as Kroki clients expect it. */
export async function buildImageLink(origin, format, text) {
  return `${origin}/compose/${format}/${toBase64Url(await deflateText(text))}`;
}
