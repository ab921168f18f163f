"""Demo store products in every status (fixed ids, replaced on re-runs)."""

from __future__ import annotations

from datetime import timedelta

from pymongo import ReplaceOne

from gateway.demo.base import DemoPartner, DemoSecrets
from gateway.storage.mongo import Database
from loaders import products as data
from loaders.base import epoch_ms, utcnow

PRODUCTS = 33
CATALOGUE = [
    ("Whey Protein", "Supplements", "29.99"), ("Creatine", "Supplements", "19.50"),
    ("Training Hoodie", "Apparel", "59.00"), ("Running Tee", "Apparel", "24.00"),
    ("Yoga Mat", "Equipment", "45.00"), ("Kettlebell 12kg", "Equipment", "69.90"),
    ("Protein Bar Box", "Snacks", "14.99"), ("Foam Roller", "Equipment", "25.00"),
    ("Shaker Bottle", "Accessories", "9.99"), ("Resistance Bands", "Equipment", "18.00"),
    ("Electrolytes", "Supplements", "12.00"),
]  # fmt: skip
STATUSES = ("active", "active", "draft", "archived")


async def seed(db: Database, partner: DemoPartner, demo: DemoSecrets) -> None:
    slug = partner.id.removeprefix("par_demo-")
    now = utcnow().replace(microsecond=0)
    ops = []
    for i in range(PRODUCTS):
        name, ptype, price = CATALOGUE[i % len(CATALOGUE)]
        created = now - timedelta(days=PRODUCTS - i)
        fields = data.ProductChanges({
            "name": f"{name} #{i // len(CATALOGUE) + 1}",
            "description": f"{name} from the {partner.name} store.",
            "image": f"https://images.example.com/{slug}/{i:02d}.jpg",
            "price": price,
            "currency": "USD" if partner.index == 0 else "EUR",
            "externalUrl": f"https://shop.example.com/{slug}/{i:02d}",
            "productType": ptype,
            "featured": i % 5 == 0,
            "status": STATUSES[i % len(STATUSES)],
            "sortOrder": i,
        }).clean(None)  # fmt: skip
        doc = data.new_product(partner.id, fields, created)
        doc.update(_id=f"prd_demo-{slug}-{i:02d}", updated_ms=epoch_ms(created))
        ops.append(ReplaceOne({"_id": doc["_id"]}, doc, upsert=True))
    await db.products.bulk_write(ops, ordered=False)
