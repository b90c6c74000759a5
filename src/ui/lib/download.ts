// Hands bytes made in the browser to the user as a file download (nothing leaves the machine).
export function saveBytes(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // revoked later: the browser reads the blob after the click returns
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
