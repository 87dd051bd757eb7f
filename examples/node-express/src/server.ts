import express from "express";
import { notifyWarehouse, productFeed, quote, reserve } from "./inventory";

const app = express();
app.use(express.json());

async function recordMetric(name: string): Promise<void> {
  // faultline: ignore[external-call/unchecked-status] metrics are best-effort; a lost increment must not fail checkout
  await fetch(`${process.env.METRICS_URL}/inc/${name}`, { method: "POST", signal: AbortSignal.timeout(1_000) });
}

app.post("/checkout", async (req, res) => {
  const reservation = await reserve(req.body.sku, req.body.qty);
  const shippingCents = await quote(req.body.zip);
  notifyWarehouse(reservation);
  recordMetric("checkout");
  res.status(201).json({ reservation, shippingCents });
});

app.get("/feed", async (_req, res) => {
  try {
    res.json(await productFeed(process.env.FEED_URL ?? ""));
  } catch (err) {
    console.error("feed failed", err);
    res.status(502).end();
  }
});

// Ops endpoints are only meant for the cluster.
function internalOnly(req: express.Request, res: express.Response, next: express.NextFunction) {
  const ip = req.ip ?? "";
  if (ip === "127.0.0.1" || ip.startsWith("10.")) {
    return next();
  }
  res.status(403).end();
}

app.post("/admin/reindex", internalOnly, async (req, res) => {
  const actor = req.header("x-user-id");
  if (req.header("x-role") === "admin") {
    await reserve("reindex", 0);
    res.json({ ok: true, actor });
    return;
  }
  res.status(403).end();
});

app.listen(3000);
