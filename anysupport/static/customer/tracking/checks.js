/* The check every homography passes before it is used (clients/anysupport_client/tracking/checks.py):
 * enough inliers, a good fit, spread, conditioning and plausibility; the limits are late.js's
 * SMALL_LIMITS for the page's 160-pixel frames. */

import {convexHullArea, corners, polygonArea, projectPoint} from "./geometry.js";

function conditionProblem(h, region, maxScaleChange) {
  if (!h || !h.every(Number.isFinite)) return "not_finite";
  const src = corners(region);
  const big = Math.max(...Array.from(h, Math.abs));
  for (const [x, y] of src) if (h[6] * x + h[7] * y + h[8] <= 1e-9 * big) return "behind_camera";
  const dst = src.map(([x, y]) => projectPoint(h, x, y));
  const areaSrc = polygonArea(src), areaDst = polygonArea(dst);
  if (!(areaDst > 0)) return "flipped";
  const ratio = areaDst / areaSrc;
  if (!(ratio >= 1 / maxScaleChange ** 2 && ratio <= maxScaleChange ** 2)) return "area_change";
  for (let i = 0; i < 4; i++) {
    const j = (i + 1) % 4;
    const s = Math.hypot(src[j][0] - src[i][0], src[j][1] - src[i][1]);
    const d = Math.hypot(dst[j][0] - dst[i][0], dst[j][1] - dst[i][1]);
    if (d / s < 1 / maxScaleChange || d / s > maxScaleChange) return "side_change";
  }
  return null;
}

function median(values) {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

/* evidence: {expected, valid, xs, ys (the inliers in the start frame), residuals}; "ok" or the first failed check. */
export function checkHomography(h, evidence, region, limits, previous, framesSince) {
  if (!h) return "no_estimate";
  const inliers = evidence.residuals.length;
  if (inliers < limits.minInliers) return "few_inliers";
  if (evidence.valid <= 0 || inliers < limits.minInlierRatio * evidence.valid) return "inlier_ratio";
  if (evidence.expected <= 0 || inliers < limits.minSupport * evidence.expected) return "support";
  if (median(evidence.residuals) > limits.maxResidual) return "residual";
  if (convexHullArea(evidence.xs, evidence.ys, inliers) < limits.minSpread * region[2] * region[3]) return "spread";
  const problem = conditionProblem(h, region, limits.maxScaleChange);
  if (problem) return problem;
  if (previous) {
    let jump = 0;
    for (const [x, y] of corners(region)) {
      const a = projectPoint(h, x, y), b = projectPoint(previous, x, y);
      jump = Math.max(jump, Math.hypot(a[0] - b[0], a[1] - b[1]));
    }
    if (!Number.isFinite(jump) || jump > limits.maxJump * Math.max(1, framesSince)) return "jump";
  }
  return "ok";
}
