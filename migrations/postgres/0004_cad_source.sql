-- The CAD file a surface was tessellated from in the browser (STEP or IGES), kept beside
-- the uploaded surface: its file name and its object-store key.
ALTER TABLE geometries ADD COLUMN cad_name TEXT;
ALTER TABLE geometries ADD COLUMN cad_key TEXT;
