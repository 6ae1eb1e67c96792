// Files imported with `with { type: "file" }` resolve to their path (inside the binary: /$bunfs/…).
declare module "*.tar.gz" {
  const path: string;
  export default path;
}
