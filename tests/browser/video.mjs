// Videos for Chromium's fake camera (--use-file-for-fake-video-capture):
// badges on a white frame, as Y4M (YUV 4:2:0), written here because no
// small maintained package does this one conversion.
import { PNG } from "pngjs";

const W = 800;
const H = 600;

/** One frame (Y, U and V planes) of `png` scaled onto a white 800 × 600 frame. */
function frameOf(pngBytes) {
  const png = PNG.sync.read(Buffer.from(pngBytes));
  const scale = Math.min(720 / png.width, 540 / png.height);
  const bw = Math.round(png.width * scale);
  const bh = Math.round(png.height * scale);
  const ox = (W - bw) >> 1;
  const oy = (H - bh) >> 1;
  const y = Buffer.alloc(W * H, 235);
  const u = Buffer.alloc((W * H) / 4, 128);
  const v = Buffer.alloc((W * H) / 4, 128);
  for (let j = 0; j < bh; j++) {
    for (let i = 0; i < bw; i++) {
      const k = (Math.floor(j / scale) * png.width + Math.floor(i / scale)) * 4;
      const [r, g, b] = [png.data[k], png.data[k + 1], png.data[k + 2]];
      y[(oy + j) * W + ox + i] = Math.round(16 + (219 * (0.299 * r + 0.587 * g + 0.114 * b)) / 255);
      if (i % 2 === 0 && j % 2 === 0) {
        const c = ((oy + j) >> 1) * (W / 2) + ((ox + i) >> 1);
        u[c] = Math.round(128 + 0.872 * (-0.169 * r - 0.331 * g + 0.5 * b));
        v[c] = Math.round(128 + 0.872 * (0.5 * r - 0.419 * g - 0.081 * b));
      }
    }
  }
  return Buffer.concat([Buffer.from("FRAME\n"), y, u, v]);
}

/** A 10 frames/s Y4M showing each badge PNG in turn for `framesEach` frames; Chromium loops it. */
export function y4mOf(pngs, framesEach = 10) {
  const frames = pngs.flatMap((png) => Array(framesEach).fill(frameOf(png)));
  return Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F10:1 Ip A1:1 C420jpeg\n`), ...frames]);
}
